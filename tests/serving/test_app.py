"""The app object itself, in process: what clients see before the model is loaded, and a bug
becoming a generic 500 (no trace in the body) that the metrics count."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from photodup.serving import create_app
from photodup.settings import ServiceSettings
from serving.helpers import OCTET


@pytest.fixture
def unstarted_client() -> TestClient:
    """The real app without its lifespan, i.e. as it is while the model is still loading."""
    app = create_app(ServiceSettings())

    @app.get("/raise-a-bug")
    async def raise_a_bug() -> None:
        raise RuntimeError("secret internal detail")

    return TestClient(app, raise_server_exceptions=False)


def test_before_the_model_is_loaded_health_is_ok_and_ready_is_503(
    unstarted_client: TestClient,
) -> None:
    assert unstarted_client.get("/health").status_code == 200
    ready = unstarted_client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["status"] == "loading"
    assert unstarted_client.get("/info").json()["status"] == "loading"


def test_embedding_before_ready_is_503_saying_why(unstarted_client: TestClient) -> None:
    body = np.zeros((1, 3, 224, 224), dtype="<f4").tobytes()
    response = unstarted_client.post("/embed/tensors", content=body, headers=OCTET)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    detail = response.json()["detail"]
    assert detail["kind"] == "not_ready"
    assert "still loading" in detail["error"]


def test_a_bug_is_a_generic_500_and_is_counted(unstarted_client: TestClient) -> None:
    response = unstarted_client.get("/raise-a-bug")
    assert response.status_code == 500
    assert response.json() == {
        "detail": {
            "error": "internal server error; the service log has the details",
            "kind": "internal",
            "items": [],
        }
    }
    assert "secret" not in response.text
    metrics = unstarted_client.get("/metrics").text
    assert 'photodup_errors_total{kind="internal"} 1.0' in metrics
    # Paths added after create_app are not in the known set: one label for all of them.
    assert 'photodup_requests_total{endpoint="other",status="500"} 1.0' in metrics


def test_two_apps_have_separate_metrics() -> None:
    first, second = (TestClient(create_app(ServiceSettings())) for _ in range(2))
    first.get("/health")
    first.get("/health")
    assert 'endpoint="/health",status="200"} 2.0' in first.get("/metrics").text
    assert 'endpoint="/health"' not in second.get("/metrics").text
