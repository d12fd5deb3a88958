"""``--start-local``: spawn the PyTorch service on a free loopback port; cold-start timing.

Cold start is measured from just before the process is spawned to (a) the server reporting
ready and (b) the first successful embedding through the product's client; the server's own
model load time comes from PyTorch's ``/info`` or Triton's log. Triton itself is started
with :class:`photodup.triton.LocalTriton`.
"""

from __future__ import annotations

import re
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from photodup.processes import ChildProcess, ProcessStartError, free_port


def pytorch_process(
    log_dir: Path, *, pretrained: str, batching: bool, device: str = "auto"
) -> tuple[ChildProcess, str]:
    """``photodup serve`` on a free loopback port, not started yet, and its base URL."""
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
    return ChildProcess(name, argv, log_dir / f"{name}.log", env=env), f"http://127.0.0.1:{port}"


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
    raise ProcessStartError(f"{name}: no successful embedding within {timeout_s:.0f} s: {last}")
