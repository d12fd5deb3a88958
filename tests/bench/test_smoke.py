"""``photodup bench --quick --start-local`` end to end: real servers, real model, real files.

Checks the structure and the internal consistency of what it measured (sample counts match
the settings, percentiles are ordered, the servers counted the same requests the client sent,
Triton never executes more batches than inferences); it never asserts that anything is fast.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from photodup.bench.config import PROFILES

REPO = Path(__file__).resolve().parents[2]
#: Generated 12 MP photos are reused between runs (gitignored, like the test export).
CACHE = REPO / ".cache" / "bench-test"
ITERATIONS, BATCH_SIZES, CONCURRENCY = 3, (1, 2), 2
TENSOR_BYTES = 3 * 224 * 224 * 4

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory, model_repository: Path) -> Path:
    out = tmp_path_factory.mktemp("bench")
    command = [
        sys.executable, "-m", "photodup.cli", "bench", "--quick", "--start-local",
        "--iterations", str(ITERATIONS),
        "--batch-sizes", ",".join(map(str, BATCH_SIZES)),
        "--concurrency", str(CONCURRENCY),
        "--model-repository", str(model_repository),
        "--cache-dir", str(CACHE),
        "--report-dir", str(out / "report"),
        "--output", str(out / "copy.json"),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=REPO)
    assert done.returncode == 0, f"bench failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    return out


@pytest.fixture(scope="module")
def results(bench_run: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((bench_run / "report" / "results.json").read_text())
    return data


def _ordered(latency: dict[str, Any]) -> None:
    assert 0 < latency["min_ms"] <= latency["p50_ms"] <= latency["p95_ms"]
    assert latency["p95_ms"] <= latency["p99_ms"] <= latency["max_ms"]


def _summary(entry: dict[str, Any], requests: int, batch: int) -> None:
    assert entry["errors"] == 0, entry.get("error_messages")
    assert entry["requests"] == entry["latency"]["count"] == requests
    assert entry["images"] == requests * batch
    assert entry["images_per_s"] > 0 and entry["wall_s"] > 0
    _ordered(entry["latency"])


def _server_counted(entry: dict[str, Any], backend: str, batch: int) -> dict[str, Any]:
    """The server's delta for a phase covers exactly the client's timed requests."""
    source = "statistics" if backend == "triton" else "metrics"
    server = entry["server"][source]
    assert server["requests"] == entry["requests"]
    assert server["inferences"] == entry["requests"] * batch
    assert 1 <= server["executions"] <= server["inferences"]
    assert server["compute_infer_ms_per_execution"] > 0
    return dict(server)


def test_structure_and_settings(bench_run: Path, results: dict[str, Any]) -> None:
    assert results["schema"] == 1
    assert json.loads((bench_run / "copy.json").read_text()) == results
    profile = results["config"]["profile"]
    assert profile["name"] == "quick" and profile["iterations"] == ITERATIONS
    assert tuple(profile["batch_sizes"]) == BATCH_SIZES
    assert tuple(profile["concurrency_levels"]) == (1, CONCURRENCY)
    assert set(results["targets"]) == {"pytorch", "pytorch-batching", "triton"}
    assert set(results["transport"]) == {
        "pytorch_base64_json", "pytorch_binary", "triton_http_binary", "triton_grpc",
    }  # fmt: skip
    machine = results["machine"]
    assert machine["cpu_model"] and machine["usable_cores"] >= 1
    assert machine["versions"]["torch"] and machine["versions"]["onnxruntime"]
    if not machine["gpu"]["available"]:
        assert machine["gpu"]["reason"]
        assert results["gpu_variants"]["status"] == "skipped: no GPU"
    assert results["inputs"]["count"] == PROFILES["quick"].image_count
    assert results["duration_s"] > 0 and results["finished_at"] >= results["started_at"]


def test_raw_engines_measured_on_the_same_batch_sizes(results: dict[str, Any]) -> None:
    for engine in ("pytorch", "onnxruntime"):
        batch = results["reference"][engine]["batch"]
        assert sorted(batch, key=int) == [str(s) for s in BATCH_SIZES]
        for size, entry in batch.items():
            _summary(entry, PROFILES["quick"].batch_iterations, int(size))


def test_every_backend_phase_is_consistent(results: dict[str, Any]) -> None:
    warmup = PROFILES["quick"].warmup
    for name, target in results["targets"].items():
        backend = target["backend"]
        expected_paths = {"client_path", "tensor_request"} | (
            {"base64_json"} if backend == "pytorch" else set()
        )
        assert set(target["single"]) == expected_paths
        for entry in target["single"].values():
            _summary(entry, ITERATIONS, 1)
            assert entry["warmup_requests"] == warmup
            _server_counted(entry, backend, 1)
        for size, entry in target["batch"].items():
            _summary(entry, PROFILES["quick"].batch_iterations, int(size))
            server = _server_counted(entry, backend, int(size))
            assert server["avg_batch_size"] == pytest.approx(int(size))  # one request = one run
        for level, entry in target["concurrency"].items():
            requests = max(PROFILES["quick"].concurrent_requests, 4 * int(level))
            _summary(entry, requests, 1)
            assert entry["concurrency"] == int(level) and entry["warmup_requests"] == int(level)
            _server_counted(entry, backend, 1)
        if backend == "triton":
            stats = target["concurrency"]["1"]["server"]["statistics"]
            # Server-side request time is part of the client's latency for the same requests.
            client_mean = target["concurrency"]["1"]["latency"]["mean_ms"]
            assert stats["request_ms_per_request"] <= client_mean * 1.01 + 1.0
            metrics = target["concurrency"]["1"]["server"]["metrics"]
            assert metrics["executions"] == stats["executions"]  # Prometheus agrees with stats
        cold = target["cold_start"]
        assert 0 < cold["spawn_to_ready_s"] <= cold["spawn_to_first_embedding_s"]
        assert 0 < cold["server_model_load_s"] < cold["spawn_to_ready_s"], name
        assert name in results["comparisons"]["ratios_to_raw"]


def test_transport_bytes_cover_the_payload(results: dict[str, Any]) -> None:
    mean_file = results["inputs"]["mean_file_bytes"]
    for name, path in results["transport"].items():
        assert path["images_counted"] > 0
        assert path["throughput"]["images_per_s"] > 0
        if path["payload"] == "tensor":
            # float32 pixels up, 512 float32 down, plus framing of under 2 kB per image.
            assert TENSOR_BYTES < path["bytes_sent_per_image"] < TENSOR_BYTES + 2048, name
            assert 512 * 4 <= path["bytes_received_per_image"] < 512 * 4 + 2048, name
        else:
            # base64 inflates each file by 4/3; JSON answers carry 512 decimal floats.
            assert path["bytes_sent_per_image"] > mean_file * 4 / 3 * 0.9
            assert path["bytes_received_per_image"] > 512 * 4


def test_report_and_charts_written(bench_run: Path, results: dict[str, Any]) -> None:
    folder = bench_run / "report"
    report = (folder / "report.md").read_text()
    for name in (*results["targets"], *results["transport"], "Verdict", "Cold start"):
        assert name in report
    for chart in (
        "latency_percentiles",
        "throughput_vs_concurrency",
        "batch_latency",
        "ratio_to_raw",
    ):
        data = (folder / f"{chart}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
        assert f"]({chart}.png)" in report
    for item in results["comparisons"]["verdict"]:
        assert item["text"] in report
