"""Time grouping on synthetic libraries shaped like real ones (``photodup bench-grouping``).

A synthetic library: most photos are unrelated (their embeddings share a common direction,
as CLIP embeddings of unrelated photos do, cosine about 0.5); a quarter belong to clusters
of 2-6 near-duplicates (cosine about 0.95 to their centre, pHash a few bits apart, some byte
identical, some shot as bursts by one camera within seconds).
"""

from __future__ import annotations

import multiprocessing
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from photodup.contract import EMBED_DIM
from photodup.finder.grouping import group_photos
from photodup.finder.records import Photo
from photodup.finder.settings import FinderSettings

T = TypeVar("T")

_CAMERAS = (("Apple", "iPhone 13"), ("Canon", "EOS 80D"), ("FUJIFILM", "X-T3"), (None, None))


@dataclass(frozen=True)
class BenchResult:
    photos: int
    true_clusters: int
    groups: int
    seconds: float
    peak_rss_mib: float
    pair_precision: float  # of the pairs put in one group, share planted in one cluster
    pair_recall: float  # of the planted pairs, share put in one group
    index: str  # exact or ivf


def synthetic_library(n: int, seed: int = 0) -> tuple[list[Photo], np.ndarray, np.ndarray]:
    """``n`` photos, their embeddings [n, 512] and the planted cluster of each photo."""
    rng = np.random.default_rng(seed)
    shared = rng.standard_normal(EMBED_DIM).astype(np.float32)
    shared /= np.linalg.norm(shared)
    sizes: list[int] = []
    while sum(sizes) < n:
        sizes.append(int(rng.integers(2, 7)) if rng.random() < 0.1 else 1)
    sizes[-1] -= sum(sizes) - n
    k = len(sizes)
    centres = rng.standard_normal((k, EMBED_DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    centres = centres + shared  # unrelated photos: cosine ~0.5 to each other
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    owner = np.repeat(np.arange(k), sizes)
    noise = rng.standard_normal((n, EMBED_DIM)).astype(np.float32)
    noise *= 0.33 / np.sqrt(EMBED_DIM)  # ~0.95 cosine to the centre
    first = np.r_[0, np.cumsum(sizes)[:-1]]
    noise[first] = 0.0
    vectors = centres[owner] + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    hashes = rng.integers(0, 2**63, size=k, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    flips = rng.integers(0, 64, size=(n, 3)).astype(np.uint64)
    bits = (np.uint64(1) << flips).sum(axis=1, dtype=np.uint64) * (rng.random(n) < 0.7)
    bits[first] = 0
    phash = hashes[owner] ^ bits.astype(np.uint64)
    times = rng.integers(1_500_000_000, 1_700_000_000, size=k)
    # A fifth of the duplicates are byte-identical copies of their cluster's first photo.
    copy_of = np.where(rng.random(n) < 0.2, first[owner], np.arange(n))
    copy_of[first] = first
    vectors = vectors[copy_of]
    phash = phash[copy_of]
    photos = []
    for i in range(n):
        c, src = int(owner[i]), int(copy_of[i])
        make, model = _CAMERAS[c % len(_CAMERAS)]
        photos.append(
            Photo(
                id=i + 1,
                path=f"{c // 1000}/{i}.jpg".encode(),
                size=2_000_000 + i,
                mtime_ns=0,
                sha256=f"{src:064x}",
                width=4000,
                height=3000,
                format="JPEG",
                captured_at=str(np.datetime64(int(times[c] + (i - first[c]) * 2), "s")),
                camera_make=make,
                camera_model=model,
                orientation=1,
                phash=int(phash[i]),
                dhash=0,
                has_embedding=True,
            )
        )
    return photos, vectors, owner


def _run(n: int, settings: FinderSettings) -> BenchResult:
    photos, vectors, owner = synthetic_library(n)
    ids = np.arange(1, n + 1, dtype=np.int64)
    started = time.perf_counter()
    groups = group_photos(photos, (ids, vectors), settings)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    index = "exact" if n <= settings.exact_search_max else "ivf"
    sizes = np.bincount(owner)
    planted = int((sizes * (sizes - 1) // 2).sum())
    found = correct = 0
    for g in groups:
        clusters = owner[[p.id - 1 for p in g.members]]
        m = len(clusters)
        found += m * (m - 1) // 2
        _, counts = np.unique(clusters, return_counts=True)
        correct += int((counts * (counts - 1) // 2).sum())
    precision = correct / found if found else 1.0
    recall = correct / planted if planted else 1.0
    clusters_planted = int((sizes > 1).sum())
    return BenchResult(n, clusters_planted, len(groups), seconds, peak, precision, recall, index)


def in_fresh_processes(
    run: Callable[[int, FinderSettings], T], sizes: list[int], settings: FinderSettings
) -> list[T]:
    """``run(n, settings)`` for each size, each in a fresh process so its peak memory is its own."""
    ctx = multiprocessing.get_context("spawn")
    results = []
    for n in sizes:
        with ctx.Pool(1) as pool:
            results.append(pool.apply(run, (n, settings)))
    return results


def bench_grouping(sizes: list[int], settings: FinderSettings) -> list[BenchResult]:
    return in_fresh_processes(_run, sizes, settings)
