# syntax=docker/dockerfile:1.7
#
# One application image, one target per deployable: exporter, ui, bench, pytorch (default).
# They share every layer up to `runtime`, so torch and friends are built and stored once; each
# target only adds its own command, port and HEALTHCHECK. docs/deploy.md says why.
#
#   docker build --target pytorch --build-arg TORCH_VARIANT=cpu  -t photodup-pytorch:dev-cpu .
#   docker build --target pytorch --build-arg TORCH_VARIANT=cuda -t photodup-pytorch:dev-cuda .
#
# TORCH_VARIANT=cpu installs the CPU-only torch wheel (a few hundred MB); cuda installs the
# PyPI torch pinned in requirements.lock, whose CUDA 13 libraries come as nvidia-* wheels, so
# the same slim Python base serves both (the host driver comes in through the NVIDIA runtime).

# A tag pin; for byte-for-byte rebuilds pass --build-arg PYTHON_IMAGE=python:3.11...@sha256:...
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# --- builder: a virtual environment in /opt/venv ----------------------------------------
FROM ${PYTHON_IMAGE} AS builder
ARG TORCH_VARIANT=cpu
ARG TORCH_CPU_INDEX=https://download.pytorch.org/whl/cpu
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PATH=/opt/venv/bin:$PATH
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN python -m venv /opt/venv
WORKDIR /build

# Dependencies before code: this layer changes only with the lock or pyproject.toml.
COPY requirements.lock pyproject.toml ./
# DL3013 wants `name==version` on the command line; here every version comes from
# requirements.lock through -c (torch's CPU wheel too, read from the lock), so nothing floats.
# hadolint ignore=DL3013
RUN case "${TORCH_VARIANT}" in \
      cpu) mapfile -t torch_pins < <(grep -E '^(torch|torchvision)==' requirements.lock) \
           && pip install --no-deps --index-url "${TORCH_CPU_INDEX}" "${torch_pins[@]}" ;; \
      cuda) ;; \
      *) echo "TORCH_VARIANT must be cpu or cuda, got '${TORCH_VARIANT}'" >&2; exit 1 ;; \
    esac \
 && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/requirements.txt \
 && pip install -c requirements.lock -r /tmp/requirements.txt setuptools==80.9.0 \
 && python -c "import torch; print('torch', torch.__version__, 'cuda build:', torch.version.cuda)"

# The package itself: a small layer on top.
COPY README.md ./
COPY src ./src
# setuptools (pinned above) builds it and stays: torch.utils.cpp_extension imports it.
RUN pip install --no-deps --no-build-isolation .

# --- runtime: the venv on a clean base, non-root ------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HOME=/cache/huggingface \
    TORCH_HOME=/cache/torch \
    MPLCONFIGDIR=/tmp/matplotlib
# Mount points exist in the image owned by the app user, so named volumes mounted there start
# with that owner (Docker copies ownership and mode into an empty named volume on first use).
# /data and /results are also writable by any uid (sticky, like /tmp): Compose runs the ui
# and bench as the host user so that files they write into bind mounts stay the user's.
RUN groupadd --gid 10001 photodup \
 && useradd --uid 10001 --gid photodup --create-home --shell /usr/sbin/nologin photodup \
 && mkdir -p /models /cache/huggingface /cache/torch /data /photos /results \
 && chown -R photodup:photodup /models /cache /data /results \
 && chmod 1777 /data /results
COPY --from=builder /opt/venv /opt/venv
# Numeric, so Kubernetes' runAsNonRoot and host tools can check it without /etc/passwd.
USER 10001:10001
WORKDIR /home/photodup

# --- exporter: one-shot job that fills the Triton model repository ------------------------
FROM runtime AS exporter
ENV MODEL_REPOSITORY=/models
HEALTHCHECK NONE
CMD ["photodup", "export", "--output", "/models", "--triton-backend", "onnxruntime", \
     "--instance-kind", "cpu"]

# --- ui: the review page --------------------------------------------------------------------
FROM runtime AS ui
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
CMD ["photodup", "ui", "--host", "0.0.0.0", "--port", "8000", "--library", "/photos"]

# --- bench: one-shot client that compares the two backends ---------------------------------
# On its own it starts both backends inside the container (the tritonserver of nvidia-pytriton);
# Compose instead points it at the running services.
FROM runtime AS bench
HEALTHCHECK NONE
CMD ["photodup", "bench", "--start-local", "--results-dir", "/results"]

# --- pytorch: the PyTorch embedding service (the default target) ---------------------------
FROM runtime AS pytorch
EXPOSE 8002
# /ready is 503 until the model is loaded and warmed, so a start period covers the weights.
HEALTHCHECK --interval=15s --timeout=5s --start-period=180s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8002/ready', timeout=4)"]
CMD ["photodup", "serve", "--host", "0.0.0.0", "--port", "8002"]
