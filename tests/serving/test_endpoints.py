"""Health, readiness, info and metrics of a real ``photodup serve`` process."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from fixtures.service import ServiceProcess
from photodup import contract
from serving.helpers import assert_error, metric


def test_health_and_ready(pytorch_service: ServiceProcess) -> None:
    assert httpx.get(f"{pytorch_service.url}/health").json() == {"status": "ok"}
    ready = httpx.get(f"{pytorch_service.url}/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_info_describes_the_loaded_model(pytorch_service: ServiceProcess) -> None:
    info = httpx.get(f"{pytorch_service.url}/info").json()
    assert info["backend"] == "pytorch"
    assert info["model_name"] == contract.MODEL_ARCH
    assert info["pretrained"] == contract.PRETRAINED_NONE
    assert info["device"] == "cpu"
    assert info["dim"] == contract.EMBED_DIM
    assert info["max_batch_size"] == contract.MAX_BATCH_SIZE
    assert info["batching"] is False
    assert info["batch_window_ms"] == 5.0
    assert 0 < info["load_seconds"] < 600


def test_metrics_are_prometheus_text_with_the_documented_families(
    pytorch_service: ServiceProcess,
) -> None:
    httpx.get(f"{pytorch_service.url}/health")
    response = httpx.get(f"{pytorch_service.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {f.name for f in text_string_to_metric_families(response.text)}
    for name in (
        "photodup_requests",
        "photodup_errors",
        "photodup_request_duration_seconds",
        "photodup_batch_size",
        "photodup_queue_duration_seconds",
        "photodup_compute_duration_seconds",
        "photodup_execution_duration_seconds",
        "photodup_model_load_seconds",
        "photodup_queue_images",
    ):
        assert name in families, name
    assert metric(pytorch_service.url, "photodup_model_load_seconds") > 0
    assert metric(pytorch_service.url, "photodup_ready") == 1
    assert metric(pytorch_service.url, "photodup_requests_total", endpoint="/health", status="200")


def test_unknown_paths_get_the_error_body_and_one_metric_label(
    pytorch_service: ServiceProcess,
) -> None:
    for path in ("/nope", "/wp-admin", "/embed/nothing"):
        assert_error(httpx.get(f"{pytorch_service.url}{path}"), 404, "not_found")
    counted = metric(pytorch_service.url, "photodup_requests_total", endpoint="other", status="404")
    assert counted >= 3
    assert_error(httpx.get(f"{pytorch_service.url}/embed/base64"), 405, "method_not_allowed")
