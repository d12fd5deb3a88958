"""Percentiles, throughput and ratios: the arithmetic every bench figure goes through."""

from __future__ import annotations

import math

import numpy as np
import pytest

from photodup.bench.stats import ratio, summarise_latencies, summarise_throughput


def test_percentiles_match_numpy_and_are_ordered() -> None:
    rng = np.random.default_rng(1)
    seconds = rng.lognormal(-3, 0.5, size=200).tolist()
    s = summarise_latencies(seconds)
    ms = np.asarray(seconds) * 1000
    assert s.count == 200
    assert s.p50_ms == pytest.approx(np.percentile(ms, 50))
    assert s.p99_ms == pytest.approx(np.percentile(ms, 99))
    assert s.min_ms <= s.p50_ms <= s.p95_ms <= s.p99_ms <= s.max_ms
    assert s.mean_ms == pytest.approx(ms.mean())


def test_single_sample_has_zero_spread() -> None:
    s = summarise_latencies([0.25])
    assert (s.count, s.p50_ms, s.p99_ms, s.stdev_ms) == (1, 250.0, 250.0, 0.0)


@pytest.mark.parametrize("bad", [[], [float("nan")], [-0.1]])
def test_bad_samples_are_refused(bad: list[float]) -> None:
    with pytest.raises(ValueError):
        summarise_latencies(bad)


def test_throughput_counts_images_not_requests() -> None:
    s = summarise_throughput([0.5, 0.5], images=16, wall_s=1.0, batch_size=8, warmup_requests=2)
    assert s.images_per_s == 16.0
    assert s.requests_per_s == 2.0
    assert s.latency.count == s.requests == 2
    assert s.as_dict()["latency"]["p50_ms"] == 500.0
    with pytest.raises(ValueError, match="wall time"):
        summarise_throughput([0.1], images=1, wall_s=0.0)


def test_ratio_handles_missing_and_zero() -> None:
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(None, 2.0) is None
    assert ratio(1.0, 0.0) is None
    assert ratio(math.inf, 1.0) is None
