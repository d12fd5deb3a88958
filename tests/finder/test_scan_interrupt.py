"""A scan stopped by Ctrl-C or killed outright keeps its finished batches and resumes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from finder.conftest import finder_settings
from photodup.client import InferenceClient
from photodup.finder.sample import SampleLibrary
from photodup.finder.scan import scan_library
from photodup.finder.store import Store


def _photos_in_index(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM photos").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # schema not created yet


def _start_scan(root: Path, url: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOTODUP_", "INFERENCE_"))}
    env.update({"INFERENCE_SERVICE_URL": url, "INFERENCE_BACKEND": "pytorch"})
    command = [sys.executable, "-m", "photodup.cli", "scan", str(root), "--no-progress"]
    options = ["--batch-size", "2", "--workers", "1", "--in-flight", "1"]
    # A session of its own, so the test can tell whether any of its processes outlive it.
    return subprocess.Popen(
        [*command, *options],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _live_processes(session: int) -> list[int]:
    """Processes of ``session`` that are still running (zombies excluded)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != b"Z":
            alive.append(int(entry.name))
    return alive


def _stop_when_indexed(
    proc: subprocess.Popen[bytes], db: Path, at_least: int, sig: signal.Signals
) -> tuple[int, str]:
    deadline = time.monotonic() + 300
    try:
        while _photos_in_index(db) < at_least:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, "scan made no progress in 300 s"
            time.sleep(0.05)
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=60)
        # Decode workers must not outlive the scan, even one killed with SIGKILL.
        while _live_processes(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _live_processes(proc.pid), "scan workers outlived the scan"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return int(proc.returncode), out.decode(errors="replace")


def test_ctrl_c_then_kill_then_resume(
    sample_library: SampleLibrary, pytorch_service: object, client: InferenceClient
) -> None:
    root = sample_library.root
    db = root / ".photodup" / "index.db"
    total = len(sample_library.photos())
    url = pytorch_service.url  # type: ignore[attr-defined]

    code, out = _stop_when_indexed(_start_scan(root, url), db, 2, signal.SIGINT)
    assert code == 130, out
    assert "run the same scan again to resume" in out
    after_ctrl_c = _photos_in_index(db)
    with Store.open(root) as store:
        run = store.latest_run()
        assert run is not None and run.state == "interrupted"

    code, out = _stop_when_indexed(_start_scan(root, url), db, after_ctrl_c + 2, signal.SIGKILL)
    assert code == -signal.SIGKILL
    after_kill = _photos_in_index(db)
    assert after_ctrl_c < after_kill < total, "the scan finished before it could be killed"

    summary = scan_library(root, client, finder_settings())
    # Photos committed before the kill are not embedded again: the scan resumed.
    assert summary.embedded == total - after_kill
    with Store.open(root) as store:
        assert len(store.list_photos()) == total
        runs = store.runs()
        assert [r.state for r in runs[:3]] == ["completed", "interrupted", "interrupted"]
        assert runs[1].error == "process ended without finishing"
        ids, _ = store.embeddings()
        assert len(ids) == total
