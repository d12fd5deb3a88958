#!/usr/bin/env python3
"""Checks around ``docker compose up`` that the Makefile's up targets run (standard library only).

``preflight PROFILE``: before anything is built or started, the engine answers, the photo library
(PHOTOS_DIR) exists and its container user can read it, and the profile's published ports are
free. Each problem is one line naming the variable, the path or the port, and what to do.

``after PROFILE RC -- COMPOSE...``: after ``up`` (whose exit code RC is not enough: Compose
2.40 returns 0 when a one-shot dependency such as the exporter fails), look at every container
of the profile. All running and healthy (the exporter exited 0): print where to go. Otherwise
print the logs of the services that failed (an exporter that exited non-zero, a server that
never became healthy), name the ones that never started, then ``down`` the stack so nothing
is left half-started; named volumes stay.

Values come from the environment, then ``./.env`` (as Compose reads them), then the defaults
of docker-compose.yml.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

# Published host ports of each profile: variable, default, what listens there.
PORTS = {
    "ui": ("UI_PORT", 8000, "the review page"),
    "inference-pytorch": ("SERVICE_PORT", 8002, "the PyTorch service"),
    "triton-http": ("TRITON_HTTP_PORT", 8003, "Triton HTTP"),
    "triton-grpc": ("TRITON_GRPC_PORT", 8004, "Triton gRPC"),
    "triton-metrics": ("TRITON_METRICS_PORT", 8005, "Triton metrics"),
}
TRITON = ("triton-http", "triton-grpc", "triton-metrics")
PROFILES = {
    "pytorch": ("ui", "inference-pytorch"),
    "triton": ("ui", *TRITON),
    "bench": ("inference-pytorch", *TRITON),
}
PROJECT = os.environ.get("COMPOSE_PROJECT_NAME") or "photodup"
PROJECT_LABEL = f"com.docker.compose.project={PROJECT}"
ALL_PROFILES = ("--profile", "pytorch", "--profile", "triton", "--profile", "bench")


def dotenv(path: Path = Path(".env")) -> dict[str, str]:
    values: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip().strip("'\"")
    return values


def setting(name: str, default: str, env_file: dict[str, str]) -> str:
    return os.environ.get(name) or env_file.get(name) or default


def readable_by(path: Path, uid: int, gid: int) -> bool:
    """Whether ``uid:gid`` may list and read ``path`` (root may; owner, group, other bits)."""
    if uid == 0:
        return True
    st = path.stat()
    if st.st_uid == uid:
        bits = stat.S_IRUSR | stat.S_IXUSR
    elif st.st_gid == gid:
        bits = stat.S_IRGRP | stat.S_IXGRP
    else:
        bits = stat.S_IROTH | stat.S_IXOTH
    return st.st_mode & bits == bits


def check_library(env_file: dict[str, str]) -> list[str]:
    raw = setting("PHOTOS_DIR", "./sample_library", env_file)
    path = Path(raw).expanduser()
    uid = int(setting("HOST_UID", "10001", env_file))
    gid = int(setting("HOST_GID", "10001", env_file))
    if not path.exists():
        return [f"PHOTOS_DIR={raw}: no such folder; point PHOTOS_DIR at your photo library"]
    if not path.is_dir():
        return [f"PHOTOS_DIR={raw}: not a folder; point PHOTOS_DIR at your photo library"]
    if not readable_by(path, uid, gid):
        return [
            f"PHOTOS_DIR={raw}: the ui runs as uid {uid}:{gid} (HOST_UID/HOST_GID) and cannot "
            f"read it (mode {stat.filemode(path.stat().st_mode)}, owner "
            f"{path.stat().st_uid}:{path.stat().st_gid}); fix its permissions or HOST_UID"
        ]
    return []


def ports_of_our_stack() -> set[int]:
    """Host ports already published by this project's containers (``up`` again is fine)."""
    done = subprocess.run(
        ["docker", "ps", "--format", "{{.Ports}}", "--filter", f"label={PROJECT_LABEL}"],
        capture_output=True,
        text=True,
    )
    ports: set[int] = set()
    for mapping in done.stdout.replace("\n", ",").split(","):
        host = mapping.strip().split("->")[0]
        if ":" in host and host.rsplit(":", 1)[1].isdigit():
            ports.add(int(host.rsplit(":", 1)[1]))
    return ports


def check_ports(profile: str, env_file: dict[str, str]) -> list[str]:
    address = setting("PUBLISH_ADDRESS", "127.0.0.1", env_file)
    ours = ports_of_our_stack()
    problems = []
    for key in PROFILES[profile]:
        variable, default, what = PORTS[key]
        port = int(setting(variable, str(default), env_file))
        if port in ours:
            continue
        with socket.socket() as sock:
            # As servers (docker-proxy too) bind: connections of a stack just taken down may
            # linger in TIME_WAIT on the port, which does not stop a new listener.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((address, port))
            except OSError as exc:
                problems.append(
                    f"port {port} on {address} ({variable}, {what}) is already taken "
                    f"({exc.strerror}); stop what listens there or set {variable}=<free port>"
                )
    return problems


def check_engine() -> list[str]:
    try:
        done = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except FileNotFoundError:
        return ["the docker CLI is not installed"]
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no answer"
        return [f"no Docker engine answers ({reason}); start it (systemctl start docker)"]
    return []


def preflight(profile: str) -> int:
    env_file = dotenv()
    problems = check_engine()
    if profile in ("pytorch", "triton"):
        problems += check_library(env_file)
    if not problems:
        problems += check_ports(profile, env_file)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        print(f"error: nothing was started (profile {profile})", file=sys.stderr)
    return 1 if problems else 0


def containers(compose: list[str], profile: str) -> list[dict[str, object]]:
    done = subprocess.run(
        [*compose, "--profile", profile, "ps", "--all", "--format", "json"],
        capture_output=True,
        text=True,
    )
    rows = []
    for line in done.stdout.splitlines():
        line = line.strip()
        if line.startswith("["):
            rows.extend(json.loads(line))
        elif line.startswith("{"):
            rows.append(json.loads(line))
    return rows


def is_fine(row: dict[str, object]) -> bool:
    """Exited 0 (a one-shot job) or running and, where it has a healthcheck, healthy."""
    if row.get("State") == "exited":
        return row.get("ExitCode") == 0
    return row.get("State") == "running" and row.get("Health") in ("", None, "healthy")


def after(profile: str, rc: int, compose: list[str]) -> int:
    rows = containers(compose, profile)
    if rc == 0 and rows and all(is_fine(r) for r in rows):
        env_file = dotenv()
        address = setting("PUBLISH_ADDRESS", "127.0.0.1", env_file)
        for key in PROFILES[profile]:
            variable, default, what = PORTS[key]
            port = setting(variable, str(default), env_file)
            print(f"ready: {what} on {address}:{port}")
        return 0
    bad = [r for r in rows if not is_fine(r) and r.get("State") != "created"]
    for row in bad:
        service = str(row["Service"])
        why = (
            f"exited with code {row.get('ExitCode')}"
            if row.get("State") == "exited"
            else f"is {row.get('Health') or row.get('State')}"
        )
        print(f"\nerror: service {service} {why}; its last log lines:", file=sys.stderr)
        logs = subprocess.run(
            [*compose, "--profile", profile, "logs", "--no-color", "--tail", "40", service],
            capture_output=True,
            text=True,
        )
        sys.stderr.write(logs.stdout + logs.stderr)
    if not bad:
        print(f"error: `up` exited with code {rc}", file=sys.stderr)
    waiting = [str(r["Service"]) for r in rows if r.get("State") == "created"]
    if waiting:
        names = ", ".join(waiting)
        print(f"error: not started (a dependency failed): {names}", file=sys.stderr)
    subprocess.run([*compose, *ALL_PROFILES, "down", "--remove-orphans"], capture_output=True)
    print(
        f"error: `up` of profile {profile} failed; the stack was taken down (named volumes "
        "kept). Fix the error above and run the target again.",
        file=sys.stderr,
    )
    return 1


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "preflight" and argv[1] in PROFILES:
        return preflight(argv[1])
    if len(argv) >= 5 and argv[0] == "after" and argv[1] in PROFILES and argv[3] == "--":
        return after(argv[1], int(argv[2]), argv[4:])
    print(
        "usage: compose_guard.py preflight PROFILE | after PROFILE RC -- COMPOSE_COMMAND...\n"
        f"PROFILE is one of {', '.join(PROFILES)}",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
