"""``photodup demo`` end to end: sample library, real service, scan, page; stops its children."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from photodup.processes import free_port

pytestmark = pytest.mark.slow


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it has exited all the same.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ")[-1][:1] != "Z"


def _demo(library: Path, *extra: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOTODUP_", "INFERENCE_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "photodup.cli", "demo", "--pretrained", "none",
         "--sample-photos", "2", "--library", str(library), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**env, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )  # fmt: skip


def _read_until(proc: subprocess.Popen[str], pattern: str, timeout_s: float) -> list[str]:
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if re.search(pattern, line):
            return lines
    raise AssertionError(f"no {pattern!r} in the demo's output:\n{''.join(lines)}")


def _child_pids(lines: list[str]) -> list[int]:
    return [int(m.group(1)) for line in lines if (m := re.search(r"started \S+ \(pid (\d+)", line))]


def test_demo_builds_scans_serves_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    library = tmp_path / "sample_library"
    port = free_port()
    proc = _demo(library, "--port", str(port))
    try:
        lines = _read_until(proc, r"photodup is ready", timeout_s=400)
        # "ready" means the socket is bound: the very first connection, made at once and
        # never retried, is accepted (it used to race uvicorn's start-up and be refused).
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        [service_pid] = _child_pids(lines)
        assert _alive(service_pid)
        assert any("scanned 18 files" in line for line in lines), "".join(lines)
        page = httpx.get(f"http://127.0.0.1:{port}/groups", timeout=30)
        assert page.status_code == 200
        assert len(re.findall(r'class="group-card[ "]', page.text)) == 2  # two photos, copies
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode in (0, 130), rest
    assert "stopped pytorch-service" in rest
    assert not _alive(service_pid)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/", timeout=5)


def test_demo_exit_after_scan_reuses_the_library(tmp_path: Path) -> None:
    library = tmp_path / "sample_library"
    first = _demo(library, "--exit-after-scan")
    out, _ = first.communicate(timeout=400)
    assert first.returncode == 0, out
    assert "building a sample library" in out and "14 embedded" in out
    [pid] = _child_pids(out.splitlines())
    assert not _alive(pid)
    again = _demo(library, "--exit-after-scan")
    out, _ = again.communicate(timeout=400)
    assert again.returncode == 0, out
    assert "reusing the sample library" in out and "0 embedded, 17 unchanged" in out
