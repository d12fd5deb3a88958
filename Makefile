# photodup: every target a newcomer needs. `make help` lists them.
# Local targets run without Docker or a GPU; the docker-* targets drive docker-compose.yml.

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# `docker compose` when the plugin is there, else the Compose v2 binary of the dev extras.
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo docker compose \
  || { [ -x .venv/bin/docker-compose ] && echo .venv/bin/docker-compose; } || echo docker compose)
MODEL_REPOSITORY ?= model_repository
PRETRAINED ?= laion2b_s34b_b79k
TRITON_BACKEND ?= python
BACKEND ?= pytorch
PHOTOS_DIR ?=
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install system-deps test lint export serve-pytorch serve-triton demo \
        bench bench-local bench-quick bench-grouping eval ui up-pytorch up-triton up-gpu-triton down logs \
        docker-export compose-config clean bench-ui bench-scan faults docker-base \
        docker-localbase triton-standin triton-image compose-smoke

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

# --- setup ---------------------------------------------------------------------------

$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	@touch $@

install: $(STAMP) ## Create .venv and install everything (quick when nothing changed)

system-deps: ## Debian packages the browser tests need (chromium, chromium-driver)
	@if ! command -v chromium >/dev/null; then \
	  echo "installing chromium (Debian packages) for the browser tests"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
	    chromium chromium-driver fonts-dejavu-core >/dev/null; \
	fi

# --- quality -------------------------------------------------------------------------

test: install system-deps ## Run the whole test suite (does its own setup)
	$(BIN)/ruff check src tests
	$(BIN)/python -m pytest $(PYTEST_ARGS)

FAULTS_SECONDS ?= 420
FAULTS_KILLS ?= 100

faults: install ## kill -9 resolve/undo/scan at >= FAULTS_KILLS points; check by SHA-256 that no photo is lost
	$(BIN)/python -m photodup.faults --seconds $(FAULTS_SECONDS) --min-kills $(FAULTS_KILLS)

lint: install ## ruff and mypy
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

# --- the inference stack, locally ----------------------------------------------------

export: install ## Export OpenCLIP to ONNX and write the Triton model repository
	$(BIN)/photodup export --pretrained $(PRETRAINED) --output $(MODEL_REPOSITORY) \
	  --triton-backend $(TRITON_BACKEND) --instance-kind cpu

serve-pytorch: install ## Start the PyTorch service on :8002
	PRETRAINED=$(PRETRAINED) $(BIN)/photodup serve

serve-triton: install ## Start the local Triton server on :8003/:8004/:8005
	$(BIN)/photodup triton --model-repository $(MODEL_REPOSITORY)

demo: install ## The main job: sample library, scan, review page on http://127.0.0.1:8000
	BACKEND=$(BACKEND) PHOTOS_DIR=$(PHOTOS_DIR) $(BIN)/photodup demo --backend $(BACKEND) \
	  $(if $(PHOTOS_DIR),--photos $(PHOTOS_DIR),)

eval: install ## Precision/recall of the grouping on the built-in labelled set (starts its own service)
	@port=$$($(BIN)/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'); \
	  PRETRAINED=$(PRETRAINED) SERVICE_PORT=$$port $(BIN)/photodup serve & pid=$$!; \
	  trap 'kill $$pid 2>/dev/null; wait $$pid 2>/dev/null' EXIT; \
	  $(BIN)/photodup eval --backend pytorch --url http://127.0.0.1:$$port

ui: install ## Review page for PHOTOS_DIR on http://127.0.0.1:8000 (needs a scanned library and a backend)
	$(BIN)/photodup ui --library $(or $(PHOTOS_DIR),sample_library)

# --- benchmarks ----------------------------------------------------------------------

bench-local: install ## Benchmark PyTorch vs Triton here, starting each backend itself
	$(BIN)/photodup bench --start-local

bench-quick: install ## The same, short profile (about a minute or two here)
	$(BIN)/photodup bench --quick --start-local

bench-grouping: install ## Grouping speed on 10k/100k synthetic embeddings, then groups twice on a real 10k index with verification
	$(BIN)/photodup bench-grouping

# Library sizes for the scan's peak-memory figures (a variable: $(or) would split the commas).
MEMORY_SIZES ?= 1000,10000,100000
bench-scan: install ## The whole scan per backend against its limit; memory 1k/10k/100k files, 10k rescan (~25 min here)
	$(BIN)/photodup bench-scan --photos $(or $(PHOTOS),600) --workers 2 --batch-sizes 16 \
	  --memory-sizes $(MEMORY_SIZES) --output bench/results/scan

bench-ui: install ## Review page: HTML size and server time of the lists with 10,000 groups
	$(BIN)/python -m photodup.ui.bench_pages --groups $(or $(GROUPS),10000)

clean: ## Remove build output (keeps .venv)
	rm -rf $(MODEL_REPOSITORY)/*/ .pytest_cache .ruff_cache .mypy_cache

# --- docker (the Compose stack; docs/deploy.md) ----------------------------------------
# Needs Docker with the Compose plugin (or the docker-compose binary the dev extras put into
# .venv); the GPU targets also need the NVIDIA Container Toolkit. compose-config needs no
# engine. Every image builds FROM the shared base (services/base/Dockerfile): the up targets
# build it first (seconds when cached).
COMPOSE_BASE := -f docker-compose.yml
COMPOSE_GPU := -f docker-compose.yml -f docker-compose.gpu.yml
ALL_PROFILES := --profile pytorch --profile triton --profile bench
# Containers that write into bind mounts (the library's quarantine, bench results) run as you.
# TRITON_MEMLOCK: NVIDIA's unlimited memlock where the host allows it, else the host's hard
# limit in bytes (a container cannot get more; Docker would refuse to start Triton).
HOST_UID ?= $(shell id -u)
HOST_GID ?= $(shell id -g)
DOCKER_ENV = HOST_UID=$(HOST_UID) HOST_GID=$(HOST_GID) TRITON_MEMLOCK=$(TRITON_MEMLOCK) \
  $(if $(PHOTOS_DIR),PHOTOS_DIR=$(abspath $(PHOTOS_DIR)),)
TRITON_MEMLOCK ?= $(shell l=$$(ulimit -Hl); [ "$$l" = unlimited ] && echo -1 || echo $$((l * 1024)))
# The ui reaches the active backend by its Compose-network name.
TRITON_UI := UI_BACKEND=triton UI_INFERENCE_URL=http://triton:8000
# Without PHOTOS_DIR the ui gets ./sample_library (`make demo` fills it); create it as you,
# or Docker would create the bind-mount source as root.
LIBRARY_DIR = $(if $(PHOTOS_DIR),,mkdir -p sample_library)
# Checks before anything starts (library, ports, engine), and after `up` (Compose may return 0
# when the exporter failed): on a failure the failed services' logs, then `down`, so no
# half-started stack is left (named volumes stay).
GUARD = python3 services/compose_guard.py
# Where Docker Hub is unreachable: a Debian bookworm base made here (make docker-localbase).
LOCALBASE_IMAGE := photodup-localbase:bookworm-py3.11
WAIT_TIMEOUT ?= 900

docker-base: ## Compose: build the shared base image every deployable builds FROM
	$(COMPOSE) $(if $(GPU),$(COMPOSE_GPU),$(COMPOSE_BASE)) --profile build build base

docker-localbase: ## Make a Debian base image with debootstrap (where Docker Hub is unreachable)
	@command -v debootstrap >/dev/null || { echo "error: debootstrap not found (apt-get install debootstrap)" >&2; exit 1; }
	root=$$(mktemp -d) && trap '$(SUDO) rm -rf "$$root"' EXIT \
	  && $(SUDO) debootstrap --variant=minbase \
	       --include=python3.11,python3.11-venv,python3-distutils,python3-lib2to3,python-is-python3,ca-certificates \
	       bookworm "$$root/fs" \
	  && $(SUDO) cp /etc/ssl/certs/ca-certificates.crt "$$root/fs/etc/ssl/certs/ca-certificates.crt" \
	  && $(SUDO) rm -rf "$$root"/fs/var/cache/apt/archives/*.deb "$$root"/fs/var/lib/apt/lists/* \
	  && $(SUDO) tar -C "$$root/fs" -c . | docker import - $(LOCALBASE_IMAGE)
	@echo "made $(LOCALBASE_IMAGE); build with PYTHON_IMAGE=$(LOCALBASE_IMAGE) BUILD_NETWORK=host"

triton-standin: ## Compose: build the stand-in Triton image (nvidia-pytriton's tritonserver; no nvcr.io)
	$(COMPOSE) $(COMPOSE_BASE) --profile build build triton-standin

triton-image: docker-base ## Build Triton with the model baked in (services/triton/Dockerfile; docs/deploy.md)
	$(COMPOSE) $(COMPOSE_BASE) --profile build build triton-image

up-pytorch: docker-base ## Compose: exporter, PyTorch service :8002, UI :8000 (PHOTOS_DIR=...)
	$(LIBRARY_DIR)
	$(DOCKER_ENV) $(GUARD) preflight pytorch
	$(DOCKER_ENV) $(COMPOSE) $(COMPOSE_BASE) --profile pytorch up -d --build --wait --wait-timeout $(WAIT_TIMEOUT); \
	  $(DOCKER_ENV) $(GUARD) after pytorch $$? -- $(COMPOSE) $(COMPOSE_BASE)

up-triton: docker-base ## Compose: exporter, Triton :8003/:8004/:8005, UI :8000 (PHOTOS_DIR=...)
	$(LIBRARY_DIR)
	$(DOCKER_ENV) $(GUARD) preflight triton
	$(DOCKER_ENV) $(TRITON_UI) $(COMPOSE) $(COMPOSE_BASE) --profile triton up -d --build --wait --wait-timeout $(WAIT_TIMEOUT); \
	  $(DOCKER_ENV) $(GUARD) after triton $$? -- $(COMPOSE) $(COMPOSE_BASE)

up-gpu-triton: ## Compose on a GPU host: GPU export, Triton on the GPU, UI :8000
	$(MAKE) --no-print-directory docker-base GPU=1
	$(LIBRARY_DIR)
	$(DOCKER_ENV) $(GUARD) preflight triton
	$(DOCKER_ENV) $(TRITON_UI) $(COMPOSE) $(COMPOSE_GPU) --profile triton up -d --build --wait --wait-timeout $(WAIT_TIMEOUT); \
	  $(DOCKER_ENV) $(GUARD) after triton $$? -- $(COMPOSE) $(COMPOSE_GPU)

down: ## Compose: stop and remove the stack's containers and network (named volumes are kept)
	$(COMPOSE) $(COMPOSE_BASE) $(ALL_PROFILES) down --remove-orphans

logs: ## Compose: follow the stack's logs
	$(COMPOSE) $(COMPOSE_BASE) $(ALL_PROFILES) logs --follow --tail=200

docker-export: docker-base ## Compose: run only the exporter into the model_repository volume (GPU=1 for GPU)
	$(COMPOSE) $(if $(GPU),$(COMPOSE_GPU),$(COMPOSE_BASE)) --profile triton build exporter
	$(COMPOSE) $(if $(GPU),$(COMPOSE_GPU),$(COMPOSE_BASE)) --profile triton run --rm exporter

bench: docker-base ## Compose: bench container, PyTorch vs Triton; results in bench/results/ (GPU=1)
	mkdir -p bench/results
	$(DOCKER_ENV) $(GUARD) preflight bench
	$(COMPOSE) $(if $(GPU),$(COMPOSE_GPU),$(COMPOSE_BASE)) --profile bench build
	$(DOCKER_ENV) $(COMPOSE) $(if $(GPU),$(COMPOSE_GPU),$(COMPOSE_BASE)) --profile bench \
	  run --rm bench; rc=$$?; \
	  $(COMPOSE) $(if $(GPU),$(COMPOSE_GPU),$(COMPOSE_BASE)) $(ALL_PROFILES) down --remove-orphans; \
	  exit $$rc

compose-config: install ## Check the Compose files resolve for every profile, with and without GPU
	@for files in "$(COMPOSE_BASE)" "$(COMPOSE_GPU)"; do \
	  for profile in pytorch triton bench build; do \
	    $(BIN)/docker-compose $$files --profile $$profile config --quiet \
	      && echo "ok: $$files --profile $$profile" || exit 1; \
	  done; \
	done

compose-smoke: install ## Real engine: build, bring up every profile, scan, check, down (~15-25 min)
	PHOTODUP_ENGINE_TESTS=1 $(BIN)/python -m pytest -m engine -p no:cacheprovider -v -s \
	  tests/deploy/test_real_engine.py $(PYTEST_ARGS)
