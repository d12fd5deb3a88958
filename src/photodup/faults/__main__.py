"""``python -m photodup.faults [--seconds N] [--min-kills N]``: the fault suite, bounded."""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

from photodup.faults.library import build_template, contents, fresh_copy, index_library
from photodup.faults.runner import Scene, Tally, kill_run, peer_run, race_run
from photodup.faults.scanning import scan_faults


def _scenes(work: Path, template: Path, photos: int, copies: int) -> list[Scene]:
    scenes = []
    shm = Path("/dev/shm")
    places = {"same-fs": work / "q-same"}
    if shm.is_dir() and shm.stat().st_dev != work.stat().st_dev:
        places["dev-shm"] = Path(tempfile.mkdtemp(prefix="photodup-faults-", dir=shm))
    for name, quarantine in places.items():
        lib = fresh_copy(template, work / f"lib-{name}")
        scene = Scene(lib, quarantine, contents(lib, quarantine), name != "same-fs")
        # Per group: the copies but the keeper, and one sidecar.
        scene.files_per_undo = copies
        scene.files_per_resolve = photos * copies
        scene.photos_to_move = photos * (copies - 1)
        scenes.append(scene)
    return scenes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=240.0, help="time bound")
    parser.add_argument("--min-kills", type=int, default=100, help="stop after this many...")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--photos", type=int, default=4)
    parser.add_argument("--scan-kills", type=int, default=6, help="0: no scan, no backend")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    tally = Tally()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="photodup-faults-") as tmp:
        work = Path(tmp)
        template = build_template(work / "template", photos=args.photos, copies=3)
        index_library(template)
        scenes = _scenes(work, template, args.photos, 3)
        if args.scan_kills:
            scan_faults(work, template, rng, tally, args.scan_kills)
            print(f"scan and backend: {tally.runs} runs, {tally.kills} kills", flush=True)
        try:
            while time.monotonic() - started < args.seconds and tally.kills < args.min_kills:
                scene = scenes[tally.runs % len(scenes)]
                draw = rng.random()
                if draw < 0.06:
                    race_run(scene, rng, tally)
                elif draw < 0.12:
                    peer_run(scene, rng, tally)
                else:
                    kill_run(scene, rng, tally)
        finally:
            for scene in scenes:
                if str(scene.quarantine).startswith("/dev/shm/"):
                    shutil.rmtree(scene.quarantine, ignore_errors=True)
    elapsed = time.monotonic() - started
    print(
        f"fault suite: {tally.runs} runs, {tally.kills} kills, {tally.files_checked} files"
        f" checked, {tally.files_lost} files lost; {tally.races} runs of two processes at once,"
        f" {tally.busy_refusals} refused as busy;"
        f" {len(tally.failures)} failed checks, {elapsed:.0f} s"
    )
    for kind, n in sorted(tally.kinds.items()):
        print(f"  {n:4d} kills of {kind}")
    for failure in tally.failures[:20]:
        print(f"  FAILED {failure}")
    raise SystemExit(1 if tally.failures or tally.files_lost else 0)


if __name__ == "__main__":
    main()
