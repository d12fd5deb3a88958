"""``photodup triton`` as a user runs it: ready message, SIGTERM/SIGINT stop it cleanly."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
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
