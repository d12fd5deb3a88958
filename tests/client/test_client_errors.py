"""Choosing a backend, and what happens when it is not there."""

from __future__ import annotations

import time

import numpy as np
import pytest

from client.helpers import client_settings
from photodup import contract
from photodup.client import BackendUnavailableError, InferenceClient, InferenceError
from photodup.processes import free_port

ONE = np.zeros((1, *contract.INPUT_SHAPE), dtype=np.float32)


@pytest.mark.parametrize(
    ("backend", "protocol"), [("pytorch", "http"), ("triton", "http"), ("triton", "grpc")]
)
@pytest.mark.parametrize("retries", [0, 1])
def test_down_backend_fails_fast_naming_url_and_backend(
    backend: str, protocol: str, retries: int
) -> None:
    url = f"127.0.0.1:{free_port()}"  # nothing listens here
    if protocol == "http":
        url = f"http://{url}"
    settings = client_settings(retries=retries, timeout_s=5.0)
    with InferenceClient(url, backend, protocol=protocol, settings=settings) as client:
        started = time.monotonic()
        with pytest.raises(BackendUnavailableError) as err:
            client.embed_tensors(ONE)
        elapsed = time.monotonic() - started
    message = str(err.value)
    assert url in message
    assert f"{backend} backend" in message
    assert f"after {retries + 1} attempt(s)" in message
    assert "INFERENCE_SERVICE_URL" in message
    # Backoff is 0.2 s before the one retry; connection refused itself is immediate.
    assert elapsed < 3.0


def test_wait_until_ready_gives_up_with_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with InferenceClient(url, "pytorch", settings=client_settings()) as client:
        assert not client.ready()
        with pytest.raises(BackendUnavailableError, match=rf"pytorch backend at {url}.*not ready"):
            client.wait_until_ready(0.5)


def test_unknown_backend_lists_the_choices() -> None:
    with pytest.raises(InferenceError, match=r"unknown inference backend 'onnx'.*pytorch, triton"):
        InferenceClient("http://127.0.0.1:1", "onnx", settings=client_settings())


def test_bad_environment_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERENCE_BACKEND", "tensorflow")
    with pytest.raises(InferenceError, match="INFERENCE_BACKEND must be one of pytorch, triton"):
        InferenceClient()


def test_pytorch_has_no_grpc() -> None:
    with pytest.raises(InferenceError, match="HTTP only"):
        InferenceClient(None, "pytorch", protocol="grpc", settings=client_settings())


@pytest.mark.parametrize(
    ("backend", "protocol", "url"),
    [
        ("pytorch", None, "http://localhost:8002"),
        ("triton", "http", "http://localhost:8003"),
        ("triton", "grpc", "localhost:8004"),
    ],
)
def test_default_urls(backend: str, protocol: str | None, url: str) -> None:
    with InferenceClient(None, backend, protocol=protocol, settings=client_settings()) as client:
        assert (client.backend, client.url) == (backend, url)


def test_environment_picks_backend_and_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERENCE_BACKEND", "triton")
    monkeypatch.setenv("INFERENCE_PROTOCOL", "grpc")
    monkeypatch.setenv("INFERENCE_SERVICE_URL", "grpc://triton:8001")
    with InferenceClient() as client:
        assert (client.backend, client.protocol, client.url) == ("triton", "grpc", "triton:8001")
