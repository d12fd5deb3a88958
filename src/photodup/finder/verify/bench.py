"""Cost of verified grouping on a real index of synthetic photos (``bench-grouping --verified``).

The library of :func:`photodup.finder.bench_grouping.synthetic_library` goes into a real
SQLite index (photos, embeddings, features); then ``find_grouping`` runs twice: the first
run verifies every candidate pair, the second finds them all in the cache. Features are
synthetic but shaped like ORB's: 256 + 128 points of 32-byte descriptors per photo;
the copies in a cluster share their centre's descriptors with a few bits flipped, moved by
a similarity transform and partly dropped (a crop), so matching and RANSAC do real work.
Index growth is the file size over the photo count (embedding, features and cache).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from photodup.finder.bench_grouping import synthetic_library
from photodup.finder.grouping import Group, find_grouping
from photodup.finder.records import Photo, PhotoRecord
from photodup.finder.settings import FinderSettings
from photodup.finder.store import Store
from photodup.finder.verify.cache import save_extracted
from photodup.finder.verify.features import Extracted, Features

_W, _H = 480, 360
POINTS, MIRROR_POINTS = 208, 80  # as photodup.finder.verify.features.extract


@dataclass(frozen=True)
class VerifiedBench:
    photos: int
    groups: int
    similar: int
    candidate_pairs: int
    first_s: float
    repeat_s: float
    index_bytes_per_photo: float  # the whole file (photos, embeddings, features, cache)
    growth_bytes_per_photo: float  # what verification adds: features and cached pairs
    pair_precision: float
    pair_recall: float


def _features(rng: np.random.Generator, base: tuple[np.ndarray, np.ndarray] | None) -> Features:
    if base is None:
        pts = rng.uniform((0, 0), (_W, _H), size=(POINTS + MIRROR_POINTS, 2)).astype(np.float32)
        desc = rng.integers(0, 256, size=(POINTS + MIRROR_POINTS, 32), dtype=np.uint8)
    else:
        pts, desc = base
        scale, angle = rng.uniform(0.8, 1.2), rng.uniform(-0.05, 0.05)
        rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        pts = (pts - (_W / 2, _H / 2)) @ rot.T + (_W / 2, _H / 2) + rng.normal(0, 0.7, pts.shape)
        flips = rng.random(desc.shape) < 0.03  # a few bits flip per byte on recompression
        desc = desc ^ (flips * rng.integers(1, 256, size=desc.shape)).astype(np.uint8)
        keep = rng.random(len(pts)) < 0.8
        inside = (pts[:, 0] >= 0) & (pts[:, 0] < _W) & (pts[:, 1] >= 0) & (pts[:, 1] < _H)
        keep &= inside
        pts, desc = pts[keep].astype(np.float32), desc[keep]
    half = min(POINTS, len(pts))
    return Features(_W, _H, pts[:half], desc[:half], pts[half:], desc[half:])


def build_index(n: int, root: Path) -> tuple[list[Photo], np.ndarray]:
    """A real index of ``n`` synthetic photos; returns them and their planted clusters."""
    photos, vectors, owner = synthetic_library(n)
    rng = np.random.default_rng(1)
    bases: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    seen: set[str] = set()
    taken: dict[int, str | None] = {}
    with Store.open(root) as store, store.transaction():
        for p, vec in zip(photos, vectors, strict=True):
            fields = {k: getattr(p, k) for k in PhotoRecord.__dataclass_fields__}
            # Copies keep their original's capture time (a burst would not: see the eval).
            fields["captured_at"] = taken.setdefault(int(owner[p.id - 1]), p.captured_at)
            pid = store.upsert_photo(PhotoRecord(**fields))
            store.set_embedding(pid, vec, "ViT-B-32", "none")
            if p.sha256 in seen:
                continue
            seen.add(p.sha256)
            c = int(owner[p.id - 1])
            f = _features(rng, bases.get(c))
            if c not in bases:
                bases[c] = (np.concatenate([f.points, f.mirror_points]), np.concatenate(
                    [f.descriptors, f.mirror_descriptors]
                ))  # fmt: skip
            hashes = tuple(int(x) for x in rng.integers(0, 2**63, size=4))
            save_extracted(store.conn, p.sha256, Extracted(f, hashes))  # type: ignore[arg-type]
    return photos, owner


def _pairs_quality(groups: list[Group], owner: np.ndarray) -> tuple[float, float]:
    sizes = np.bincount(owner)
    planted = int((sizes * (sizes - 1) // 2).sum())
    found = correct = 0
    for g in groups:
        clusters = owner[[p.id - 1 for p in g.members]]
        m = len(clusters)
        found += m * (m - 1) // 2
        _, counts = np.unique(clusters, return_counts=True)
        correct += int((counts * (counts - 1) // 2).sum())
    return (correct / found if found else 1.0), (correct / planted if planted else 1.0)


def bench_verified(n: int, settings: FinderSettings) -> VerifiedBench:
    with tempfile.TemporaryDirectory(prefix="photodup-bench-verify-") as tmp:
        root = Path(tmp)
        _, owner = build_index(n, root)
        # Timed as ``groups`` would run it: open the index, group, cache the new pairs.
        started = time.perf_counter()
        with Store.open(root) as store:
            first = find_grouping(store, settings)
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        with Store.open(root) as store:
            again = find_grouping(store, settings)
            store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            added = store.conn.execute(
                "SELECT (SELECT COALESCE(SUM(LENGTH(data)), 0) + COUNT(*) * 80 FROM features)"
                " + (SELECT COALESCE(SUM(LENGTH(evidence)), 0) + COUNT(*) * 72"
                " FROM verifications)"
            ).fetchone()[0]
        repeat_s = time.perf_counter() - started
        assert again.stats["verified_now"] == 0, again.stats
        db = root / ".photodup" / "index.db"
        size = sum(os.path.getsize(p) for p in db.parent.glob("index.db*"))
        precision, recall = _pairs_quality(first.duplicates, owner)
        return VerifiedBench(
            n, len(first.duplicates), len(first.similar), first.stats["candidate_pairs"],
            first_s, repeat_s, size / n, added / n, precision, recall,
        )  # fmt: skip


def run_verified(sizes: list[int], settings: FinderSettings) -> list[VerifiedBench]:
    from photodup.finder.bench_grouping import in_fresh_processes

    return in_fresh_processes(bench_verified, sizes, settings)
