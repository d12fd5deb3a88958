"""Ratios and the generated verdict, on result structures built by the real summary code."""

from __future__ import annotations

from typing import Any

import pytest

from photodup.bench.analysis import compare, machine_busy, ratios_to_raw, verdict
from photodup.bench.stats import summarise_throughput


def _entry(ms: float, batch: int = 1, level: int = 1, n: int = 10) -> dict[str, Any]:
    """A timed run where every request took ``ms`` and ``level`` ran at once."""
    wall = n * ms / 1000 / level
    return summarise_throughput(
        [ms / 1000] * n, images=n * batch, wall_s=wall, concurrency=level, batch_size=batch
    ).as_dict()


def _target(name: str, backend: str, engine: str, ms: float, speedup: float) -> dict[str, Any]:
    """Single-image requests take ``ms``; concurrency multiplies throughput up to ``speedup``."""
    return {
        "name": name,
        "backend": backend,
        "engine": engine,
        "single": {"client_path": _entry(ms)},
        "batch": {"1": _entry(ms), "8": _entry(ms * 4, batch=8)},
        "concurrency": {
            "1": _entry(ms),
            "4": _entry(ms * 4 / speedup, level=4),
        },
    }


@pytest.fixture
def results() -> dict[str, Any]:
    return {
        "machine": {"usable_cores": 2},
        "load_average": {"start": [1.0, 1, 1], "end": [1.5, 1, 1], "steps": []},
        "reference": {
            "pytorch": {"batch": {"1": _entry(40), "8": _entry(160, batch=8)}},
            "onnxruntime": {"batch": {"1": _entry(50), "8": _entry(200, batch=8)}},
        },
        "targets": {
            "pytorch": _target("pytorch", "pytorch", "pytorch", 100, 1.0),
            "pytorch-batching": _target("pytorch-batching", "pytorch", "pytorch", 100, 2.0),
            "triton": _target("triton", "triton", "onnxruntime", 50, 2.5),
        },
        "transport": {},
        "expectations": {
            "triton_concurrency_speedup": {"text": "2-3x", "low": 2.0, "high": 3.0},
        },
    }


def test_ratios_divide_by_the_backends_own_engine(results: dict[str, Any]) -> None:
    ratios = ratios_to_raw(results)
    # PyTorch service: 10 img/s at batch 1 vs raw torch 25 img/s.
    assert ratios["pytorch"]["batch"]["1"] == pytest.approx(10 / 25)
    # Triton runs ONNX Runtime: 20 img/s vs raw ORT 20 img/s at batch 1.
    assert ratios["triton"]["batch"]["1"] == pytest.approx(1.0)
    assert ratios["triton"]["raw_best_batch_size"] == 8
    # Triton at concurrency 4: 2.5 x 20 = 50 img/s vs raw ORT best 40 img/s.
    assert ratios["triton"]["concurrency"]["4"]["vs_raw_best"] == pytest.approx(50 / 40)


def test_verdict_names_winners_with_factors(results: dict[str, Any]) -> None:
    items = {item["topic"]: item for item in verdict(results)}
    latency = items["single-image latency"]
    assert latency["winner"] == "Triton" and latency["factor"] == pytest.approx(2.0)
    # Triton best 50 img/s vs plain PyTorch 10 img/s; vs batching PyTorch 20 img/s.
    assert items["concurrent throughput vs pytorch"]["factor"] == pytest.approx(5.0)
    assert items["concurrent throughput vs pytorch-batching"]["factor"] == pytest.approx(2.5)
    assert items["PyTorch micro-batching"]["winner"] == "batching on"
    assert items["raw engines"]["winner"] == "PyTorch (raw)"
    assert all(item["text"].endswith(")") for item in items.values())  # basis is stated


def test_small_differences_are_ties(results: dict[str, Any]) -> None:
    results["targets"]["triton"]["single"]["client_path"] = _entry(98)
    item = next(i for i in verdict(results) if i["topic"] == "single-image latency")
    assert item["winner"] is None and "tie" in item["text"]


def test_expectation_is_checked_against_the_plain_pytorch_figure(results: dict[str, Any]) -> None:
    expectations = compare(results)["expectations"]
    assert expectations == [
        {
            "expectation": "2-3x",
            "measured_triton_over_pytorch": pytest.approx(5.0),
            "basis": "concurrent throughput vs pytorch (batching off), best level each",
            "met": True,
        }
    ]


def test_busy_machine_is_flagged_from_the_load_samples(results: dict[str, Any]) -> None:
    assert machine_busy(results) is None
    results["load_average"]["steps"] = [{"step": "triton: batch 8", "load_1m": 5.5}]
    busy = machine_busy(results)
    assert busy is not None and busy["load_peak"] == 5.5 and "indicative" in busy["text"]


def test_missing_backend_gives_no_cross_backend_claims(results: dict[str, Any]) -> None:
    del results["targets"]["triton"]
    topics = {item["topic"] for item in verdict(results)}
    assert not any("Triton" in t or "latency" in t for t in topics)
    assert compare(results)["expectations"][0]["measured_triton_over_pytorch"] is None
