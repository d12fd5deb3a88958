"""The scan's limit on this machine, measured in the same run as the scans.

On a CPU box the client's work (read, hash, decode, preprocess, perceptual hash) and the
model compete for the same cores, so the best a scan can do is::

    limit photos/s = cores / (client CPU-s per photo + model CPU-s per photo)

The client's CPU-seconds come from running :func:`photodup.finder.examine.examine` on every
file of the library in this process, one core, as the scan's workers run it (copies of a
content already seen are only hashed, as in the scan). The model's come from the raw engine
in process at batch 32: no HTTP, no serialisation, no queue.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from photodup.bench.reference import Engine
from photodup.finder.examine import examine
from photodup.finder.walk import walk_library


def client_cpu(library: Path) -> dict[str, Any]:
    """CPU-seconds per photo of the workers' work, over the whole library, one core."""
    seen: set[str] = set()
    stages: dict[str, float] = {}
    photos = computed = 0
    started = time.process_time()
    for found in walk_library(library).files:
        item = examine(found, frozenset(seen))
        for stage, seconds in item.times.items():
            stages[stage] = stages.get(stage, 0.0) + seconds
        if item.record is not None:
            seen.add(item.record.sha256)
            computed += 1
        photos += item.record is not None or item.reuse is not None
    cpu = time.process_time() - started
    return {
        "photos": photos,
        "computed": computed,
        "cpu_s_per_photo": cpu / max(photos, 1),
        "stage_s_per_photo": {k: v / max(photos, 1) for k, v in sorted(stages.items())},
    }


def engine_cpu(engine: Engine, *, batch: int = 32, repeats: int = 3) -> dict[str, Any]:
    """CPU-seconds (all threads) and wall seconds per image of ``engine`` at ``batch``."""
    rng = np.random.default_rng(0)
    tensors = rng.standard_normal((batch, 3, 224, 224), dtype=np.float32)
    engine(tensors)  # warm-up: allocations, kernels, thread pools
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(repeats):
        engine(tensors)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    images = batch * repeats
    return {
        "batch": batch,
        "images": images,
        "cpu_s_per_image": cpu / images,
        "wall_s_per_image": wall / images,
        "images_per_s": images / wall,
    }


def limit(client_s: float, model_s: float, computed_share: float = 1.0) -> dict[str, float]:
    """Photos/s the cores allow; the model runs only for the share of distinct contents."""
    cores = os.cpu_count() or 1
    per_photo = client_s + model_s * computed_share
    return {"cores": cores, "cpu_s_per_photo": per_photo, "photos_per_s": cores / per_photo}
