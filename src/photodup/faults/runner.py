"""Runs real photodup processes, kills them, recovers, checks: one scenario at a time."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from photodup.faults.check import Verdict, check
from photodup.faults.library import contents
from photodup.finder.journal import recover_pending
from photodup.finder.store import Store

#: Journalled steps a process can be killed at (see photodup.finder.faultpoint), by route,
#: with about how many times each is reached per file moved (a photo is 3 MiB: 3 chunks).
SAME_FS_POINTS = {"claimed": 1, "renamed": 1}
CROSS_FS_POINTS = {"claimed": 1, "copying": 3, "copied": 1, "verified": 1, "removed": 1}


@dataclass
class Tally:
    runs: int = 0
    kills: int = 0
    files_checked: int = 0
    files_lost: int = 0
    busy_refusals: int = 0
    races: int = 0
    failures: list[str] = field(default_factory=list)
    #: Kills by what was killed, how and where the quarantine was.
    kinds: Counter[str] = field(default_factory=Counter)

    def add(self, verdict: Verdict, what: str) -> None:
        self.files_checked += verdict.files_checked
        self.files_lost += verdict.lost
        if not verdict.ok:
            self.failures.append(f"{what}: {verdict.describe()}")


@dataclass
class Scene:
    """One library and where its quarantine is."""

    library: Path
    quarantine: Path
    expected: Counter[str]
    cross_fs: bool = False
    files_per_resolve: int = 12
    files_per_undo: int = 3
    #: Photos a complete resolve --all moves (every copy but the keepers).
    photos_to_move: int = 8
    #: How long the last unkilled run of each command took: random kills land inside it.
    durations: dict[str, float] = field(default_factory=dict)

    def env(self, fault: str = "") -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTODUP_")}
        env["PHOTODUP_QUARANTINE_DIR"] = str(self.quarantine)
        if fault:
            env["PHOTODUP_FAULT_POINT"] = fault
        return env

    def command(self, op: str) -> list[str]:
        args = ["resolve", str(self.library), "--all"] if op == "resolve" else ["undo"]
        if op == "undo":
            args.append(str(self.library))
        return [sys.executable, "-m", "photodup.cli", *args]


def start(scene: Scene, op: str, fault: str = "") -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        scene.command(op),
        env=scene.env(fault),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def quarantined(scene: Scene) -> int:
    """Photos (not sidecars) in the quarantine by actions not undone."""
    with Store.open(scene.library) as store:
        row = store.conn.execute(
            "SELECT count(*) FROM moves m JOIN actions a ON a.id=m.action_id"
            " WHERE m.status='done' AND a.undone_at IS NULL AND m.sidecar=0"
        ).fetchone()
    return int(row[0])


def has_quarantined(scene: Scene) -> bool:
    return quarantined(scene) > 0


def choose_op(scene: Scene, rng: random.Random) -> str:
    """Undo when everything is resolved, resolve when nothing is, else either."""
    held = quarantined(scene)
    if held == 0:
        return "resolve"
    if held >= scene.photos_to_move:
        return "undo"
    return rng.choice(["resolve", "undo"])


def settle_and_check(scene: Scene, tally: Tally, what: str) -> None:
    """Recovery as the next photodup would run it, then the SHA-256 census."""
    with Store.open(scene.library) as store:
        recover_pending(store)
    tally.add(check(scene.library, scene.quarantine, scene.expected), what)


def kill_run(scene: Scene, rng: random.Random, tally: Tally) -> None:
    """One run of resolve or undo, killed at a fault point or at a random time."""
    op = choose_op(scene, rng)
    points = CROSS_FS_POINTS if scene.cross_fs else SAME_FS_POINTS
    # resolve --all moves every copy (and sidecar) left; an undo puts back one group's action.
    left = scene.photos_to_move - quarantined(scene)
    files = left * scene.files_per_resolve // scene.photos_to_move
    if op == "undo":
        files = scene.files_per_undo
    began = time.monotonic()
    if rng.random() < 0.6:
        name = rng.choice(sorted(points))
        count = rng.randint(1, max(1, points[name] * files))
        fault = f"{'restore_' if op == 'undo' else ''}{name}:{count}"
        proc = start(scene, op, fault)
        proc.communicate(timeout=120)
        killed = proc.returncode == -signal.SIGKILL
        what = f"{op} at {fault}"
        how = "at a journalled step"
    else:
        delay = rng.uniform(0.4, max(0.5, scene.durations.get(op, 2.0)))
        proc = start(scene, op)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=120)
        killed = proc.returncode == -signal.SIGKILL
        what = f"{op} killed after {delay:.2f}s"
        how = "at a random time"
    if not killed:
        scene.durations[op] = time.monotonic() - began
    tally.runs += 1
    tally.kills += int(killed)
    if killed:
        where = "/dev/shm" if scene.cross_fs else "same-fs"
        tally.kinds[f"{op} {how}, {where} quarantine"] += 1
    settle_and_check(scene, tally, what)


def race_run(scene: Scene, rng: random.Random, tally: Tally) -> None:
    """A resolve and an undo at once: one waits its turn or is refused, nothing is lost."""
    first, second = rng.sample(["resolve", "undo"], 2)
    a = start(scene, first)
    time.sleep(rng.uniform(0.0, 0.8))
    b = start(scene, second)
    outs = [p.communicate(timeout=120)[0] for p in (a, b)]
    tally.runs += 2
    tally.races += 1
    tally.busy_refusals += sum(b"is changing this library" in o for o in outs)
    settle_and_check(scene, tally, f"{first} and {second} at once")


def census(scene: Scene) -> int:
    return sum(contents(scene.library, scene.quarantine).values())


def _stopped_or_exited(proc: subprocess.Popen[bytes], timeout_s: float = 60.0) -> bool:
    """True once ``proc`` froze itself (state T); False if it exited first."""
    deadline = time.monotonic() + timeout_s
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        if state == "T":
            return True
        time.sleep(0.02)
    return False


def peer_run(scene: Scene, rng: random.Random, tally: Tally) -> None:
    """One photodup frozen mid-move (alive), a second one started against it, then thawed."""
    op = choose_op(scene, rng)
    points = CROSS_FS_POINTS if scene.cross_fs else SAME_FS_POINTS
    name = rng.choice(sorted(points))
    fault = f"{'restore_' if op == 'undo' else ''}{name}:{rng.randint(1, 3)}:stop"
    other = "resolve" if op == "undo" else "undo"
    frozen = start(scene, op, fault)
    try:
        if _stopped_or_exited(frozen):
            peer = start(scene, other)
            out, _ = peer.communicate(timeout=120)
            tally.runs += 1
            tally.busy_refusals += int(b"is changing this library" in out)
            if peer.returncode != 3:
                tally.failures.append(f"{other} ran beside a frozen {op}: exit {peer.returncode}")
    finally:
        frozen.send_signal(signal.SIGCONT)
    frozen.communicate(timeout=120)
    tally.runs += 1
    tally.races += 1
    settle_and_check(scene, tally, f"{other} beside {op} frozen at {fault}")
