"""The verified benchmark's machinery on a small real index (figures are not asserted)."""

from __future__ import annotations

from finder.conftest import finder_settings
from photodup.finder.verify.bench import bench_verified


def test_verified_bench_groups_planted_clusters_and_repeats_from_the_cache() -> None:
    result = bench_verified(400, finder_settings())
    # Planted clusters of synthetic ORB-like features: found exactly, nothing else.
    assert result.pair_precision == 1.0 and result.pair_recall == 1.0
    assert result.groups > 10 and result.candidate_pairs > result.groups
    # The repeat verified nothing again: bench_verified asserts it (times are not asserted).
    assert 8 * 1024 < result.growth_bytes_per_photo < 16 * 1024
    assert result.index_bytes_per_photo < 20 * 1024
