"""Machine facts and GPU sampling: real /proc, real NVML (or the reason it is missing)."""

from __future__ import annotations

import time

from photodup.bench.gpu_sampler import GpuSampler
from photodup.bench.machine import gpu_info, machine_info


def test_machine_info_names_cpu_cores_and_versions() -> None:
    info = machine_info()
    assert info["cpu_model"] and info["usable_cores"] >= 1
    assert info["logical_cores"] >= info["usable_cores"]
    assert info["versions"]["photodup"] and info["versions"]["numpy"].startswith("1.")
    assert info["memory_gib"] is None or info["memory_gib"] > 0


def test_gpu_sampler_samples_or_says_why_not() -> None:
    with GpuSampler(interval_s=0.05) as sampler:
        time.sleep(0.3)
    summary = sampler.summary()
    if gpu_info()["available"]:
        assert summary["available"] and summary["samples"] >= 2
        assert 0 <= summary["gpu_util_mean_pct"] <= 100
    else:
        assert summary == {"available": False, "reason": gpu_info()["reason"]}
