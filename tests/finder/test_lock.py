"""One writer per library (D5), with real processes: held, refused with who, stale taken over."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from photodup.finder.lock import LibraryBusy, hold_library

SRC = Path(__file__).resolve().parents[2] / "src"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTODUP_")}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    return env


def _photodup(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "photodup.cli", *args],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """A real second process holding the library's lock as `photodup undo` would."""
    lib = tmp_path / "L"
    lib.mkdir()
    code = (
        "import sys, time; from pathlib import Path; from photodup.finder.lock import"
        " hold_library\nwith hold_library(Path(sys.argv[1]), 'photodup undo'):\n"
        "    print('held', flush=True); time.sleep(120)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(lib)], env=_env(), stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    yield lib, proc
    proc.kill()
    proc.wait()


def test_a_held_library_is_refused_with_who_holds_it(
    holder: tuple[Path, subprocess.Popen[str]],
) -> None:
    lib, proc = holder
    for args in (["undo", str(lib)], ["resolve", str(lib), "--all"]):
        done = _photodup(*args)
        assert done.returncode == 3, done.stderr
        assert f"another photodup (pid {proc.pid}, `photodup undo`, since " in done.stderr
        assert "is changing this library" in done.stderr
    with pytest.raises(LibraryBusy), hold_library(lib, "test"):  # the API, a third process
        pass


def test_a_killed_holder_leaves_a_stale_lock_that_is_taken_over(
    holder: tuple[Path, subprocess.Popen[str]],
) -> None:
    lib, proc = holder
    lock = lib / ".photodup/lock"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert json.loads(lock.read_text())["pid"] == proc.pid  # left behind by kill -9

    done = _photodup("undo", str(lib))

    assert done.returncode == 1 and "nothing to undo" in done.stderr, done.stderr
    assert not lock.exists()  # taken over, then released


def test_a_reused_pid_or_another_host_is_judged_correctly(tmp_path: Path) -> None:
    lib = tmp_path / "L"
    (lib / ".photodup").mkdir(parents=True)
    lock = lib / ".photodup/lock"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        # A live pid whose process started at another time: the holder died, pid reused.
        held = {"pid": sleeper.pid, "host": socket.gethostname(), "command": "photodup resolve",
                "started_at": time.time() - 3600, "proc_start": "1"}  # fmt: skip
        lock.write_text(json.dumps(held))
        with hold_library(lib, "test"):
            assert json.loads(lock.read_text())["pid"] == os.getpid()
        # A holder on another machine cannot be checked: never taken over.
        lock.write_text(json.dumps({**held, "host": "elsewhere.example", "proc_start": ""}))
        with pytest.raises(LibraryBusy, match=r"on elsewhere\.example"), hold_library(lib, "x"):
            pass
        assert json.loads(lock.read_text())["host"] == "elsewhere.example"
    finally:
        sleeper.kill()
        sleeper.wait()


def test_the_lock_is_reentrant_in_one_process_and_released_after(tmp_path: Path) -> None:
    lib = tmp_path / "L"
    lib.mkdir()
    with hold_library(lib, "outer"), hold_library(lib, "inner"):
        assert json.loads((lib / ".photodup/lock").read_text())["command"] == "outer"
    assert not (lib / ".photodup/lock").exists()


def test_an_empty_lock_is_busy_while_fresh_and_stale_once_old(tmp_path: Path) -> None:
    """A process killed between creating the lock and writing it leaves an empty file."""
    lib = tmp_path / "L"
    (lib / ".photodup").mkdir(parents=True)
    lock = lib / ".photodup/lock"
    lock.write_text("")
    with pytest.raises(LibraryBusy, match="unreadable lock file"), hold_library(lib, "x"):
        pass
    old = time.time() - 120
    os.utime(lock, (old, old))
    with hold_library(lib, "test"):
        assert json.loads(lock.read_text())["pid"] == os.getpid()
