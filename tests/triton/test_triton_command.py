"""``photodup triton`` as a user runs it: ready message, SIGTERM/SIGINT stop it cleanly."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from photodup import contract
from photodup.processes import ChildProcess, free_port


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_command_serves_and_stops_on_signal(
    model_repository: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    http, grpc, metrics = free_port(), free_port(), free_port()
    command = [sys.executable, "-m", "photodup.cli", "triton", "--model-repository"]
    ports = ["--http-port", str(http), "--grpc-port", str(grpc), "--metrics-port", str(metrics)]
    log = tmp_path / "cli.log"
    cli = ChildProcess(
        "photodup triton",
        [*command, str(model_repository), *ports, "--log-file", str(tmp_path / "t.log")],
        log,
    )
    with cli:
        cli.wait_http_ok(
            f"http://127.0.0.1:{http}/v2/models/{contract.TRITON_MODEL_NAME}/ready", timeout_s=180
        )
        cli.process.send_signal(sig)
        assert cli.process.wait(timeout=60) == 0, log.read_text()
    text = log.read_text()
    assert "Triton ready" in text
    assert f"{sig.name} received" in text
    assert "Triton stopped (exit code 0)" in text
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", http), timeout=1).close()


def test_command_refuses_a_missing_repository(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "photodup.cli", "triton", "--model-repository", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "does not exist" in result.stderr


def _processes() -> dict[int, tuple[int, int, bytes]]:
    """Live processes: pid -> (parent pid, process group, command line)."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(") ", 1)[1].split()
            cmdline = (proc / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z":
            found[int(proc.name)] = (int(fields[1]), int(fields[2]), cmdline)
    return found


def test_killing_the_command_with_sigkill_takes_triton_and_its_stubs_along(
    model_repository: Path, tmp_path: Path
) -> None:
    """The launcher itself killed -9: the parent-death signal stops tritonserver, which
    stops its stub; nothing of that server is left holding ports and memory."""
    http, grpc, metrics = free_port(), free_port(), free_port()
    ports = ["--http-port", str(http), "--grpc-port", str(grpc), "--metrics-port", str(metrics)]
    cli = ChildProcess(
        "photodup triton",
        [sys.executable, "-m", "photodup.cli", "triton", "--model-repository",
         str(model_repository), *ports, "--log-file", str(tmp_path / "t.log")],
        tmp_path / "cli.log",
    )  # fmt: skip
    with cli:
        cli.wait_http_ok(
            f"http://127.0.0.1:{http}/v2/models/{contract.TRITON_MODEL_NAME}/ready", timeout_s=180
        )
        procs = _processes()
        [server] = [p for p, (ppid, _, _) in procs.items() if ppid == cli.process.pid]
        stubs = [p for p, (_, pgrp, cmd) in procs.items()
                 if pgrp == server and b"triton_python_backend_stub" in cmd]  # fmt: skip
        assert stubs, "the Python-backend model should have a stub process"
        cli.process.kill()
        cli.process.wait(timeout=10)
        deadline = time.monotonic() + 30  # Triton's own shutdown: --exit-timeout-secs=10
        while time.monotonic() < deadline and set(_processes()) & {server, *stubs}:
            time.sleep(0.25)
        assert not set(_processes()) & {server, *stubs}, "tritonserver or a stub outlived it"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", http), timeout=1).close()
