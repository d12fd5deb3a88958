"""kill -9 of ``photodup scan`` and of the PyTorch backend under it: the index survives,
no file is touched, and the next scan (or the same one, once the backend is back) finishes."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from photodup.faults.library import contents, fresh_copy
from photodup.faults.runner import Tally
from photodup.finder.store import DATA_DIR_NAME
from photodup.processes import ChildProcess, free_port

STARTUP_TIMEOUT_S = 300.0


class Backend(ChildProcess):
    """``photodup serve`` with random weights on a fixed free port (restartable there)."""

    def __init__(self, port: int) -> None:
        fd, log = tempfile.mkstemp(prefix="photodup-faults-serve-", suffix=".log")
        os.close(fd)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTODUP_")}
        env.update({"PRETRAINED": "none", "DEVICE": "cpu", "PYTHONUNBUFFERED": "1"})
        argv = [sys.executable, "-m", "photodup.cli", "serve", "--host", "127.0.0.1"]
        super().__init__("photodup serve", [*argv, "--port", str(port)], Path(log), env=env,
                         inherit_env=False)  # fmt: skip
        self.url = f"http://127.0.0.1:{port}"

    def up(self) -> None:
        self.start()
        self.wait_http_ok(f"{self.url}/ready", STARTUP_TIMEOUT_S)

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def _scan(library: Path, url: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOTODUP_", "INFERENCE_"))}
    env.update({"PHOTODUP_WORKERS": "1", "PHOTODUP_BATCH_SIZE": "4"})
    argv = [sys.executable, "-m", "photodup.cli", "scan", str(library), "--no-progress",
            "--backend", "pytorch", "--url", url, "--backend-wait", "120"]  # fmt: skip
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _index_ok(library: Path) -> tuple[bool, int]:
    """(integrity_check passed, photos with an embedding)."""
    conn = sqlite3.connect(library / DATA_DIR_NAME / "index.db")
    try:
        ok = conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        embedded = conn.execute("SELECT count(embedding) FROM photos").fetchone()[0]
    finally:
        conn.close()
    return ok, int(embedded)


def scan_faults(work: Path, template: Path, rng: random.Random, tally: Tally, kills: int) -> None:
    """``kills`` scans killed at random times, then one backend killed mid-scan."""
    library = fresh_copy(template, work / "lib-scan")
    (library / DATA_DIR_NAME / "index.db").unlink()  # the scan has everything to do
    before = contents(library, library / DATA_DIR_NAME / "quarantine")
    photos = sum(1 for p in library.rglob("*.png"))
    backend = Backend(free_port())
    backend.up()
    try:
        for _ in range(kills):
            proc = _scan(library, backend.url)
            time.sleep(rng.uniform(0.5, 4.0))
            killed = proc.poll() is None
            if killed:
                proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=300)
            tally.runs += 1
            tally.kills += int(killed)
            tally.kinds["scan at a random time"] += int(killed)
            _check_scan(library, before, tally, "scan killed", complete=None)
        # The backend dies under a running scan and comes back: the scan waits, then ends.
        (library / DATA_DIR_NAME / "index.db").unlink()
        proc = _scan(library, backend.url)
        time.sleep(rng.uniform(1.0, 3.0))
        backend.kill()
        tally.kills += 1
        tally.kinds["PyTorch backend during a scan"] += 1
        time.sleep(1.0)
        backend.up()
        out, _ = proc.communicate(timeout=600)
        tally.runs += 1
        if proc.returncode != 0:
            tally.failures.append(f"scan with its backend killed: exit {proc.returncode}: "
                                  f"{out.decode(errors='replace')[-400:]}")  # fmt: skip
        _check_scan(library, before, tally, "backend killed mid-scan", complete=photos)
    finally:
        backend.stop()
        backend.log_path.unlink(missing_ok=True)


def _check_scan(
    library: Path, before: object, tally: Tally, what: str, complete: int | None
) -> None:
    after = contents(library, library / DATA_DIR_NAME / "quarantine")
    tally.files_checked += sum(after.values())
    if after != before:
        tally.failures.append(f"{what}: the scan changed files")
    db = library / DATA_DIR_NAME / "index.db"
    if db.exists():
        ok, embedded = _index_ok(library)
        if not ok:
            tally.failures.append(f"{what}: index integrity_check failed")
        if complete is not None and embedded != complete:
            tally.failures.append(f"{what}: {embedded} of {complete} photos embedded")
    elif complete is not None:
        tally.failures.append(f"{what}: no index after the scan")
