"""Compare feature detectors (ORB, AKAZE, SIFT) on the labelled kinds: speed and recall.

``python -m photodup.finder.verify.compare [--detectors orb,akaze,sift] [--json out.json]``

Every derived copy of the colour photos is verified against its original (true pairs);
originals, distractors and the hard negatives (quarter tiles, neighbouring shots) against
each other and against the copies of other photos (false pairs). The decision rule is the
default one (:mod:`photodup.finder.verify.decide`). Figures go into docs/finder.md.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from dataclasses import dataclass

from PIL import Image

from photodup.finder.derive import DERIVATIONS, NEGATIVES, derive
from photodup.finder.sample import DISTRACTORS
from photodup.finder.sources import COLOUR_PHOTOS, load_real_photo
from photodup.finder.verify.decide import Verdict, decide
from photodup.finder.verify.features import Features, compute_features
from photodup.finder.verify.match import one_thread, verify_pair
from photodup.imaging import load_photo


@dataclass
class Item:
    source: str  # photos sharing a source are duplicates
    kind: str
    image: Image.Image


def labelled_items(photos: tuple[str, ...] = COLOUR_PHOTOS) -> list[Item]:
    items = []
    for name in photos:
        img = load_real_photo(name).convert("RGB")
        items.append(Item(name, "original", img))
        for kind in DERIVATIONS:
            items.append(Item(name, kind, load_photo(derive(img, kind)[0])))
        for kind in NEGATIVES:
            items.append(Item(f"{name}:{kind}", kind, load_photo(derive(img, kind)[0])))
    for name in DISTRACTORS:
        items.append(Item(name, "original", load_real_photo(name).convert("RGB")))
    items.append(Item("motorcycle_right", "burst", load_real_photo("motorcycle_right")))
    return items


def _pairs(items: list[Item]) -> list[tuple[int, int]]:
    """True pairs (copy, original) and false pairs (every non-copy pair, plus copies vs
    the other originals)."""
    original = {it.source: i for i, it in enumerate(items) if it.kind == "original"}
    out = []
    for i, it in enumerate(items):
        if it.kind in DERIVATIONS:
            out.append((original[it.source], i))
            out.extend((j, i) for s, j in original.items() if s != it.source)
    heads = [i for i, it in enumerate(items) if it.kind not in DERIVATIONS]
    out.extend((a, b) for k, a in enumerate(heads) for b in heads[k + 1 :])
    return out


def run(detector: str, items: list[Item]) -> dict[str, object]:
    started = time.perf_counter()
    feats: list[Features] = [compute_features(it.image, kind=detector) for it in items]
    per_photo_ms = (time.perf_counter() - started) * 1000 / len(items)
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    false_accepts: list[str] = []
    similar: list[str] = []
    checked = 0
    started = time.perf_counter()
    with one_thread():
        results = [(a, b, verify_pair(feats[a], feats[b])) for a, b in _pairs(items)]
    for a, b, ev in results:
        verdict: Verdict = decide(ev)
        checked += 1
        same = items[a].source == items[b].source
        label = f"{items[a].source}/{items[a].kind} ~ {items[b].source}/{items[b].kind}"
        if same:
            row = found[items[b].kind]
            row[0] += verdict.duplicate
            row[1] += 1
        elif verdict.duplicate:
            false_accepts.append(
                f"{items[a].source}/{items[a].kind} ~ {items[b].source}/{items[b].kind}"
            )
        if verdict.similar:
            similar.append(label)
    per_pair_ms = (time.perf_counter() - started) * 1000 / max(checked, 1)
    recalled = sum(r[0] for r in found.values())
    total = sum(r[1] for r in found.values())
    return {
        "detector": detector,
        "features_ms_per_photo": round(per_photo_ms, 2),
        "verify_ms_per_pair": round(per_pair_ms, 3),
        "pairs_checked": checked,
        "recall": round(recalled / total, 4),
        "per_kind": {k: f"{v[0]}/{v[1]}" for k, v in sorted(found.items())},
        "false_accepts": false_accepts,
        "similar_shots": similar,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detectors", default="orb,akaze,sift")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    items = labelled_items()
    results = [run(d, items) for d in args.detectors.split(",")]
    for r in results:
        print(json.dumps(r, indent=1))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
