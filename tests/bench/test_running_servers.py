"""``photodup bench --url-...``: measuring servers someone else started, and leaving them up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from fixtures.service import ServiceProcess
from photodup.processes import free_port
from photodup.triton import LocalTriton

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "bench-test"

pytestmark = pytest.mark.slow


def test_bench_against_running_servers(
    tmp_path: Path,
    pytorch_service: ServiceProcess,
    triton_server: LocalTriton,
    model_repository: Path,
) -> None:
    command = [
        sys.executable, "-m", "photodup.cli", "bench", "--quick",
        "--iterations", "2", "--batch-sizes", "2", "--concurrency", "2",
        "--url-pytorch", pytorch_service.url,
        "--url-triton", triton_server.http_url,
        "--url-triton-grpc", triton_server.grpc_url,
        "--triton-metrics-url", triton_server.metrics_url,
        "--model-repository", str(model_repository),
        "--cache-dir", str(CACHE),
        "--report-dir", str(tmp_path / "report"),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=REPO)
    assert done.returncode == 0, f"bench failed:\n{done.stderr[-6000:]}"
    results = json.loads((tmp_path / "report" / "results.json").read_text())

    assert set(results["targets"]) == {"pytorch", "triton"}  # the fixture runs batching off
    for target in results["targets"].values():
        cold = target["cold_start"]
        assert cold["measured"] is False and "--start-local" in cold["reason"]
        assert set(target["batch"]) == {"2"} and set(target["concurrency"]) == {"1", "2"}
    triton = results["targets"]["triton"]["concurrency"]["2"]["server"]
    assert triton["metrics"]["inferences"] == triton["statistics"]["inferences"] == 8
    assert set(results["transport"]) == {
        "pytorch_base64_json", "pytorch_binary", "triton_http_binary", "triton_grpc",
    }  # fmt: skip
    assert set(results["reference"]["onnxruntime"]["batch"]) == {"2"}
    # The bench measured them; it did not stop them.
    assert httpx.get(f"{pytorch_service.url}/ready", timeout=5).status_code == 200
    assert httpx.get(f"{triton_server.http_url}/v2/health/ready", timeout=5).status_code == 200


def test_unreachable_backend_fails_with_a_clear_message(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    command = [
        sys.executable, "-m", "photodup.cli", "bench", "--quick", "--backend", "pytorch",
        "--iterations", "1", "--batch-sizes", "1", "--concurrency", "1",
        "--url-pytorch", url, "--cache-dir", str(CACHE), "--report-dir", str(tmp_path / "r"),
    ]  # fmt: skip
    env = {**os.environ, "INFERENCE_RETRIES": "0"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=REPO, env=env)
    assert done.returncode == 1
    # Checked before any slow work: the message names the URL and what to do.
    assert url in done.stderr and "--start-local" in done.stderr
    assert "raw engine" not in done.stderr
    assert not (tmp_path / "r" / "results.json").exists()  # nothing half-written
