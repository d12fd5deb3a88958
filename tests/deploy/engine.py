"""A real Docker engine for the real-engine tests: found or started, with the base images ready.

- The engine: the one that answers ``docker info``; else, as root, Debian's ``dockerd`` (installed
  with apt-get if missing) started with ``--iptables=false``, so builds use the host network.
- The Python base: ``python:3.11.14-slim-bookworm`` when it can be pulled, else the Debian base
  ``make docker-localbase`` makes with debootstrap.
- The torch wheel: the CPU one when PyTorch's index answers, else PyPI's (CUDA) torch.
- Triton: NVIDIA's pinned image when nvcr.io answers, else the stand-in built from
  services/triton/standin/ (with the exporter's ``--triton-backend python``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from deploy.dockerfiles import BASE, STANDIN, TRITON, arg_default
from deploy.stack import REPO, tool

LOCALBASE = "photodup-localbase:bookworm-py3.11"
STANDIN_IMAGE = "photodup-triton-standin:dev"
PROJECT = "photodup-smoke"
LABEL = f"label=com.docker.compose.project={PROJECT}"


class EngineUnavailable(RuntimeError):
    """No engine answers and none can be started here; the message says why."""


def run(
    args: list[str],
    *,
    timeout: float = 1800,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)


def engine_answers() -> bool:
    try:
        return run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=30).returncode == 0
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False


def ensure_engine(log: Path) -> str:
    """Use the running engine, or start Debian's dockerd; returns what was done."""
    if engine_answers():
        return "the running engine"
    if shutil.which("docker") is None:
        raise EngineUnavailable("the docker CLI is not installed")
    if os.getuid() != 0:
        raise EngineUnavailable("no engine answers and only root can start dockerd here")
    if shutil.which("dockerd") is None:
        done = run(["apt-get", "install", "-y", "-qq", "docker.io"], timeout=600)
        if done.returncode != 0:
            raise EngineUnavailable(f"apt-get install docker.io failed:\n{done.stderr[-2000:]}")
    with log.open("ab") as out:
        # Detached: it outlives the test run, so image layers stay cached for the next one.
        subprocess.Popen(
            ["dockerd", "--iptables=false"], stdout=out, stderr=out, start_new_session=True
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if engine_answers():
            return f"started dockerd --iptables=false (log {log})"
        time.sleep(1)
    raise EngineUnavailable(f"dockerd did not answer within 90 s; see {log}")


def can_pull(image: str, timeout: float = 900) -> bool:
    try:
        return run(["docker", "pull", "-q", image], timeout=timeout).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def reachable(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=15):
            return True
    except OSError:
        return False


@dataclass
class Images:
    """What the stack is built from here, and how long making each part took."""

    python_image: str
    torch_variant: str
    triton_image: str
    triton_backend: str
    notes: list[str] = field(default_factory=list)
    times: dict[str, float] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {
            "PYTHON_IMAGE": self.python_image,
            "TORCH_VARIANT": self.torch_variant,
            "TRITON_IMAGE": self.triton_image,
            "TRITON_EXPORT_BACKEND": self.triton_backend,
            "BUILD_NETWORK": "host",
            "COMPOSE_PROJECT_NAME": PROJECT,
            "COMPOSE": str(tool("docker-compose")),
            "PRETRAINED": "none",
        }


def clean_checkout(dest: Path) -> Path:
    """The working tree as a fresh clone would have it: tracked and new files, nothing ignored
    (no .venv, no sample_library, no model_repository output)."""
    listed = run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO).stdout
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def timed(
    times: dict[str, float], name: str, args: list[str], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    start = time.monotonic()
    done = run(args, cwd=cwd, env={**os.environ, **env})
    times[name] = round(time.monotonic() - start, 1)
    if done.returncode != 0:
        output = done.stdout[-3000:] + done.stderr[-3000:]
        raise AssertionError(f"{' '.join(args)} failed:\n{output}")
    return done


def prepare_images(cwd: Path) -> Images:
    python_image = arg_default(BASE, "PYTHON_IMAGE")
    notes = []
    times: dict[str, float] = {}
    if not can_pull(python_image, timeout=300):
        python_image = LOCALBASE
        notes.append(f"{arg_default(BASE, 'PYTHON_IMAGE')} cannot be pulled: {LOCALBASE}")
        if run(["docker", "image", "inspect", LOCALBASE]).returncode != 0:
            timed(times, "localbase", ["make", "--no-print-directory", "docker-localbase"], {}, cwd)
    variant = "cpu" if reachable("https://download.pytorch.org/whl/cpu/torch/") else "cuda"
    if variant == "cuda":
        notes.append("PyTorch's CPU index is unreachable: TORCH_VARIANT=cuda (PyPI's torch)")
    triton_image, backend = arg_default(TRITON, "TRITON_IMAGE"), "onnxruntime"
    if not can_pull(triton_image):
        notes.append(f"{triton_image} cannot be pulled: the stand-in {STANDIN_IMAGE}")
        triton_image, backend = STANDIN_IMAGE, "python"
    images = Images(python_image, variant, triton_image, backend, notes, times)
    make = ["make", "--no-print-directory"]
    timed(times, "build base", [*make, "docker-base"], images.env, cwd)
    if backend == "python":
        assert STANDIN.is_file()
        timed(times, "build triton-standin", [*make, "triton-standin"], images.env, cwd)
    return images
