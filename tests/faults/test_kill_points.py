"""kill -9 of real ``photodup resolve``/``undo`` at journalled steps (D3, D4), and the census.

Photos of several MB; the quarantine on the library's filesystem and on ``/dev/shm``. After
each kill, recovery runs as the next photodup would, and the SHA-256 census must find every
file in exactly one place with the journal agreeing. Small and fixed: CI runs it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from photodup.faults.check import check
from photodup.faults.library import build_template, contents, fresh_copy, index_library
from photodup.faults.runner import Scene, Tally, settle_and_check, start
from photodup.finder.filemoves import sha256_file
from photodup.finder.journal import recover_pending
from photodup.finder.store import Store

SHM = Path("/dev/shm")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = build_template(tmp_path_factory.mktemp("faults") / "lib", photos=2, side=1200)
    index_library(root)
    return root


@pytest.fixture(params=["same-fs", "dev-shm"])
def scene(request: pytest.FixtureRequest, template: Path, tmp_path: Path) -> Iterator[Scene]:
    if request.param == "same-fs":
        quarantine = tmp_path / "q"
    else:
        if not SHM.is_dir() or SHM.stat().st_dev == tmp_path.stat().st_dev:
            pytest.skip("/dev/shm is not a second filesystem here")
        quarantine = Path(tempfile.mkdtemp(prefix="photodup-test-", dir=SHM))
    lib = fresh_copy(template, tmp_path / "L")
    yield Scene(lib, quarantine, contents(lib, quarantine), request.param == "dev-shm")
    shutil.rmtree(quarantine, ignore_errors=True)


def _run(scene: Scene, op: str, fault: str = "") -> subprocess.CompletedProcess[bytes]:
    proc = start(scene, op, fault)
    out, _ = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out)


def _parts(*folders: Path) -> list[Path]:
    return [p for f in folders for p in f.rglob("*.photodup-part")]


def test_undo_killed_mid_copy_leaves_no_partial_at_the_photos_path(scene: Scene) -> None:
    if not scene.cross_fs:
        pytest.skip("a copy happens only across filesystems")
    original = {p: sha256_file(p) for p in scene.library.glob("c*/IMG_*.png")}
    assert _run(scene, "resolve").returncode == 0
    killed = _run(scene, "undo", "restore_copying:2")
    assert killed.returncode == -signal.SIGKILL, killed.stdout

    for path, sha in original.items():
        # Never a truncated photo at its own path: at most our empty claim.
        assert not path.exists() or path.stat().st_size == 0 or sha256_file(path) == sha
    assert _parts(scene.library), "the kill should have left a partial copy beside the photo"

    again = _run(scene, "undo")
    assert again.returncode == 0, again.stdout
    other = _run(scene, "undo")  # resolve --all took one action per group
    assert other.returncode == 0, other.stdout
    assert {p: sha256_file(p) for p in original} == original
    assert _parts(scene.library) == [] and contents(scene.quarantine, scene.quarantine) == {}


def test_resolve_killed_mid_copy_is_finished_by_the_next_resolve(scene: Scene) -> None:
    if not scene.cross_fs:
        pytest.skip("a copy happens only across filesystems")
    killed = _run(scene, "resolve", "copying:2")
    assert killed.returncode == -signal.SIGKILL
    assert _parts(scene.quarantine), "the kill should have left a partial copy in the quarantine"

    again = _run(scene, "resolve")
    assert again.returncode == 0, again.stdout
    text = again.stdout.decode()
    # The interrupted group is computed after recovery, so this run resolves it.
    assert text.count("keep c0/IMG_") == 2, text
    assert _parts(scene.quarantine) == []
    assert not list(scene.quarantine.rglob("*~1*"))  # no second name beside an orphan
    assert check(scene.library, scene.quarantine, scene.expected).ok


#: Every step of each route, for resolve and for undo (``restore_``), at a first or later hit.
SAME_FS_KILLS = ["claimed:1", "claimed:3", "renamed:2", "restore_claimed:1", "restore_renamed:1"]
CROSS_FS_KILLS = ["claimed:1", "copying:3", "copied:1", "verified:2", "removed:1",
                  "restore_claimed:2", "restore_copying:4", "restore_copied:2",
                  "restore_verified:1", "restore_removed:3"]  # fmt: skip
KILLS = [("same-fs", f) for f in SAME_FS_KILLS] + [("dev-shm", f) for f in CROSS_FS_KILLS]


@pytest.mark.parametrize(("scene", "fault"), KILLS, indirect=["scene"])
def test_kill_at_a_journalled_step_loses_nothing(scene: Scene, fault: str) -> None:
    undo = fault.startswith("restore_")
    if undo:
        assert _run(scene, "resolve").returncode == 0
    killed = _run(scene, "undo" if undo else "resolve", fault)
    assert killed.returncode == -signal.SIGKILL, killed.stdout
    tally = Tally()
    settle_and_check(scene, tally, fault)
    assert tally.failures == [] and tally.files_lost == 0
    assert tally.files_checked == sum(scene.expected.values())
    # And the library still works: the next command completes and the census holds.
    assert _run(scene, "undo" if undo else "resolve").returncode == 0
    assert check(scene.library, scene.quarantine, scene.expected).ok


def test_the_census_sees_a_lost_file_and_a_stray_partial(scene: Scene) -> None:
    assert _run(scene, "resolve").returncode == 0
    assert check(scene.library, scene.quarantine, scene.expected).ok
    held = next(p for p in scene.quarantine.rglob("*.png"))
    (held.parent / "partial.png").write_bytes(held.read_bytes()[:1000])
    held.unlink()
    verdict = check(scene.library, scene.quarantine, scene.expected)
    assert verdict.lost == 1 and verdict.stray == 1 and not verdict.ok
    assert any("done" in j for j in verdict.journal)
    os.sync()


def _wait_stopped(pid: int) -> None:
    deadline = time.monotonic() + 60
    while Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "T":
        assert time.monotonic() < deadline, "the process did not reach its fault point"
        time.sleep(0.05)


def test_a_live_peer_frozen_mid_move_is_never_recovered_under_it(scene: Scene) -> None:
    """D5: resolve frozen (SIGSTOP, alive) between copy and source removal; a second undo,
    resolve and recovery must all keep their hands off its files, then it finishes."""
    step = "copied:2:stop" if scene.cross_fs else "claimed:2:stop"
    frozen = start(scene, "resolve", step)
    try:
        _wait_stopped(frozen.pid)
        in_flight = sorted(_parts(scene.quarantine)) if scene.cross_fs else []
        assert bool(in_flight) == scene.cross_fs  # frozen with a full copy not yet placed
        for op in ("undo", "resolve"):
            peer = _run(scene, op)
            assert peer.returncode == 3, peer.stdout
            assert f"another photodup (pid {frozen.pid}, `photodup resolve`" in peer.stdout.decode()
        with Store.open(scene.library) as store:
            assert recover_pending(store)[0].startswith("recovery skipped: another photodup")
        assert sorted(_parts(scene.quarantine)) == in_flight  # its copy is still there
    finally:
        frozen.send_signal(signal.SIGCONT)
    out, _ = frozen.communicate(timeout=120)
    assert frozen.returncode == 0, out
    assert check(scene.library, scene.quarantine, scene.expected).ok
    assert not has_lock(scene.library)


def has_lock(library: Path) -> bool:
    return (library / ".photodup/lock").exists()
