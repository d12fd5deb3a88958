"""Summaries of timed samples: latency percentiles and throughput, each with its sample count.

Every figure the bench reports goes through these functions, so a percentile always means the
same thing (numpy's linear interpolation between order statistics) and every summary states
how many samples it rests on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LatencySummary:
    """Latency percentiles in milliseconds over ``count`` samples (warm-up excluded)."""

    count: int
    mean_ms: float
    stdev_ms: float
    min_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarise_latencies(seconds: Sequence[float]) -> LatencySummary:
    """Summarise per-request durations given in seconds; raises ValueError when empty."""
    if len(seconds) == 0:
        raise ValueError("no latency samples to summarise")
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    if not np.all(np.isfinite(ms)) or np.any(ms < 0):
        raise ValueError("latency samples must be finite and non-negative")
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return LatencySummary(
        count=int(ms.size),
        mean_ms=float(ms.mean()),
        stdev_ms=float(ms.std(ddof=1)) if ms.size > 1 else 0.0,
        min_ms=float(ms.min()),
        p50_ms=float(p50),
        p95_ms=float(p95),
        p99_ms=float(p99),
        max_ms=float(ms.max()),
    )


@dataclass(frozen=True)
class ThroughputSummary:
    """What a timed run of requests achieved: counts, wall time, rates and per-request latency."""

    requests: int
    images: int
    errors: int
    wall_s: float
    images_per_s: float
    requests_per_s: float
    latency: LatencySummary
    warmup_requests: int = 0
    concurrency: int = 1
    batch_size: int = 1

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["latency"] = self.latency.as_dict()
        return out


def summarise_throughput(
    latencies_s: Sequence[float],
    *,
    images: int,
    wall_s: float,
    errors: int = 0,
    warmup_requests: int = 0,
    concurrency: int = 1,
    batch_size: int = 1,
) -> ThroughputSummary:
    """Combine the latencies of the successful requests of one timed run with its wall time."""
    if wall_s <= 0:
        raise ValueError(f"wall time must be positive, got {wall_s}")
    requests = len(latencies_s)
    return ThroughputSummary(
        requests=requests,
        images=images,
        errors=errors,
        wall_s=wall_s,
        images_per_s=images / wall_s,
        requests_per_s=requests / wall_s,
        latency=summarise_latencies(latencies_s),
        warmup_requests=warmup_requests,
        concurrency=concurrency,
        batch_size=batch_size,
    )


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or None when either side is missing or the divisor is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    value = numerator / denominator
    return value if math.isfinite(value) else None
