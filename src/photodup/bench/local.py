"""``--start-local``: spawn the PyTorch service on a free loopback port; cold-start timing.

Cold start is measured from just before the process is spawned to (a) the server reporting
ready and (b) the first successful embedding through the product's client; the server's own
model load time comes from PyTorch's ``/info`` or Triton's log. Triton itself is started
with :class:`photodup.triton.LocalTriton`.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalStartError(RuntimeError):
    """A backend the bench started did not come up; the message includes its log tail."""


@dataclass
class LocalProcess:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    started_at: float = 0.0
    process: subprocess.Popen[bytes] | None = None
    ports: dict[str, int] = field(default_factory=dict)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.started_at = time.perf_counter()
        # A process group of its own, so stopping it also stops Triton's Python-backend stubs.
        self.process = subprocess.Popen(
            self.argv,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def wait_http_ok(self, url: str, timeout_s: float) -> float:
        """Seconds from spawn until ``url`` answers 200; raises LocalStartError otherwise."""
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LocalStartError(
                    f"{self.name} exited with {self.process.returncode} before {url} was ready "
                    f"(log {self.log_path}):\n{self.log_tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2.0).status_code == 200:
                    return time.perf_counter() - self.started_at
            time.sleep(0.1)
        raise LocalStartError(
            f"{self.name}: {url} not ready after {timeout_s:.0f} s (log {self.log_path}):\n"
            f"{self.log_tail()}"
        )

    def stop(self, timeout_s: float = 20.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@contextlib.contextmanager
def running(proc: LocalProcess) -> Iterator[LocalProcess]:
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def pytorch_process(
    log_dir: Path, *, pretrained: str, batching: bool, device: str = "auto"
) -> LocalProcess:
    port = free_port()
    name = "pytorch-batching" if batching else "pytorch"
    env = {
        "SERVICE_HOST": "127.0.0.1",
        "SERVICE_PORT": str(port),
        "PRETRAINED": pretrained,
        "BATCHING_ENABLED": "true" if batching else "false",
        "DEVICE": device,
    }
    argv = [sys.executable, "-m", "photodup.cli", "serve"]
    return LocalProcess(name, argv, env, log_dir / f"{name}.log", ports={"http": port})


# Triton log lines start like: I1124 13:55:01.123456 4242 model_lifecycle.cc:473] "loading: m:1"
_TRITON_LINE = re.compile(r"^[IWE]\d{4} (\d{2}:\d{2}:\d{2}\.\d+) .*?\] \"?(.*)$")


def triton_model_load_seconds(log_text: str, model: str) -> float | None:
    """Seconds between Triton's "loading: <model>" and "successfully loaded '<model>'" lines."""
    start = end = None
    for line in log_text.splitlines():
        match = _TRITON_LINE.match(line.strip())
        if not match:
            continue
        stamp, message = match.groups()
        when = datetime.strptime(stamp[:15], "%H:%M:%S.%f")
        if start is None and message.startswith(f"loading: {model}"):
            start = when
        elif start is not None and f"successfully loaded '{model}'" in message:
            end = when
            break
    if start is None or end is None:
        return None
    return (end - start).total_seconds() % 86400  # a load that spans midnight stays positive


def first_embedding_seconds(
    started_at: float, embed_once: Any, timeout_s: float, name: str
) -> float:
    """Seconds from ``started_at`` (perf_counter) until ``embed_once()`` first succeeds."""
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            embed_once()
            return time.perf_counter() - started_at
        except Exception as exc:  # not ready yet: any client error means "try again"
            last = exc
            time.sleep(0.1)
    raise LocalStartError(f"{name}: no successful embedding within {timeout_s:.0f} s: {last}")
