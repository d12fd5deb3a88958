"""The Makefile's docker section: listed by `make help`, and its commands resolve as intended.

The real recipe is printed by ``make -n`` and run with ``up ...`` swapped for ``config``, with
the venv's Compose binary standing in for ``docker compose``: the same files, profiles and
variables the target would use, checked without an engine.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from typing import Any

import pytest

from deploy.stack import REPO, tool

DOCKER_TARGETS = (
    "up-pytorch",
    "up-triton",
    "up-gpu-triton",
    "down",
    "logs",
    "docker-export",
    "bench",
    "compose-config",
    "compose-smoke",
    "docker-base",
    "docker-localbase",
    "triton-standin",
    "triton-image",
)


def make(*args: str) -> str:
    done = subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_help_lists_every_docker_target() -> None:
    # `make help` colours the names; strip the escape codes.
    plain = re.sub(r"\x1b\[[0-9;]*m", "", make("help"))
    names = {line.split()[0] for line in plain.splitlines() if line.strip()}
    missing = [target for target in DOCKER_TARGETS if target not in names]
    assert not missing, missing


def resolved_by_target(target: str, **variables: str) -> dict[str, Any]:
    """Run the target's compose line with `config` in place of its action."""
    compose = str(tool("docker-compose"))
    args = [f"{key}={value}" for key, value in variables.items()]
    lines = make("-n", target, f"COMPOSE={compose}", *args).splitlines()
    (line,) = [line for line in lines if line.lstrip().startswith("HOST_UID=") and " up " in line]
    # Keep the variables, files and profile; drop `up ...` and the failure branch after it.
    line = line.split(" up ")[0] + f" --env-file {os.devnull} config --format json"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/")}
    done = subprocess.run(
        ["bash", "-c", line], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    project: dict[str, Any] = json.loads(done.stdout)
    return project


@pytest.mark.parametrize(
    ("target", "backend", "url", "gpu"),
    [
        ("up-pytorch", "pytorch", "http://inference-pytorch:8002", False),
        ("up-triton", "triton", "http://triton:8000", False),
        ("up-gpu-triton", "triton", "http://triton:8000", True),
    ],
)
def test_up_targets_wire_the_ui_to_their_backend(
    target: str, backend: str, url: str, gpu: bool
) -> None:
    project = resolved_by_target(target, PHOTOS_DIR="/srv/photos")
    services = project["services"]
    ui = services["ui"]
    assert ui["environment"]["INFERENCE_BACKEND"] == backend
    assert ui["environment"]["INFERENCE_SERVICE_URL"] == url
    assert ui["user"] == f"{os.getuid()}:{os.getgid()}"
    assert any(v["source"] == "/srv/photos" and v["target"] == "/photos" for v in ui["volumes"])
    has_gpu = "deploy" in services["exporter"]
    assert has_gpu == gpu


def test_up_targets_check_first_and_clean_up_after_a_failure() -> None:
    """Preflight before `up` (nothing starts on bad input); on failure the guard takes it down."""
    for target, profile in (("up-pytorch", "pytorch"), ("up-triton", "triton")):
        lines = make("-n", target, "PHOTOS_DIR=/srv/photos").splitlines()
        preflight = next(i for i, line in enumerate(lines) if f"preflight {profile}" in line)
        up = next(i for i, line in enumerate(lines) if " up -d --build --wait" in line)
        base = next(i for i, line in enumerate(lines) if "--profile build build base" in line)
        assert base < preflight < up, target
        assert f"compose_guard.py after {profile} $? --" in "\n".join(lines[up : up + 2]), target


def test_memlock_follows_the_hosts_hard_limit() -> None:
    """-1 (NVIDIA's unlimited) where the host allows it, else its hard limit in bytes."""
    done = subprocess.run(["bash", "-c", "ulimit -Hl"], capture_output=True, text=True)
    hard = done.stdout.strip()
    expected = "-1" if hard == "unlimited" else str(int(hard) * 1024)
    (line,) = [line for line in make("-n", "up-triton").splitlines() if " up -d --build" in line]
    assert f"TRITON_MEMLOCK={expected} " in line
