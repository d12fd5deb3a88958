"""Report generation on the real results of the kept example run (bench/results/example-*)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from photodup.bench.analysis import compare
from photodup.bench.charts import write_charts
from photodup.bench.report import render_report, write_report

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "bench" / "results").glob("example-*/results.json"))
CHARTS = ("latency_percentiles", "throughput_vs_concurrency", "batch_latency", "ratio_to_raw")


@pytest.fixture(params=EXAMPLES, ids=[p.parent.name for p in EXAMPLES])
def example(request: pytest.FixtureRequest) -> tuple[Path, dict[str, Any]]:
    path: Path = request.param
    return path.parent, json.loads(path.read_text())


def test_an_example_report_is_kept() -> None:
    assert EXAMPLES, "bench/results/example-*/results.json is missing"


def test_verdict_is_a_function_of_the_numbers(example: tuple[Path, dict[str, Any]]) -> None:
    _, results = example
    stored = results["comparisons"]
    assert json.loads(json.dumps(compare(results))) == stored
    assert stored["verdict"], "a full run compares the backends"


def test_kept_report_is_exactly_what_the_generator_writes(
    example: tuple[Path, dict[str, Any]],
) -> None:
    folder, results = example
    charts = [folder / f"{name}.png" for name in CHARTS]
    assert all(chart.is_file() for chart in charts)
    assert (folder / "report.md").read_text() == render_report(results, charts)


def test_report_regenerates_with_every_section(
    tmp_path: Path, example: tuple[Path, dict[str, Any]]
) -> None:
    _, results = example
    report = write_report(results, tmp_path).read_text()
    for heading in (
        "## Verdict",
        "## Cold start",
        "## Single-image latency",
        "## Batch latency",
        "## Concurrent single-image requests",
        "## Server-side view",
        "## Transport",
        "## GPU",
    ):
        assert heading in report
    for name in (*results["targets"], *results["transport"]):
        assert name in report
    for item in results["comparisons"]["verdict"]:
        assert item["text"] in report
    assert json.loads((tmp_path / "results.json").read_text()) == results
    assert sorted(p.stem for p in tmp_path.glob("*.png")) == sorted(CHARTS)


def test_charts_skip_what_was_not_measured(
    tmp_path: Path, example: tuple[Path, dict[str, Any]]
) -> None:
    _, results = example
    no_targets = {**results, "targets": {}, "comparisons": {}}
    made = {p.stem for p in write_charts(no_targets, tmp_path)}
    assert made == {"batch_latency"}  # only the raw engines remain to draw
