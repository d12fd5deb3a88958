"""The real service under concurrent load on 127.0.0.1: micro-batching merges requests,
batching off keeps them apart, the queue bound answers 503, SIGTERM drains in-flight work
and weights that cannot load stop the process with a clear error."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import numpy as np
import pytest

from fixtures.service import ServiceProcess, service_env, start_pytorch_service
from photodup.model.openclip import ImageEmbedder
from photodup.processes import free_port
from serving.helpers import (
    assert_error,
    batch_size_counts,
    embed_tensors,
    metric,
    post_tensors,
    reference_embeddings,
)

SAME = 0.9999  # see test_embeddings.py


def _concurrently(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Run the calls from threads released together, so they reach the server at once."""
    barrier = threading.Barrier(len(calls))
    results: list[httpx.Response | None] = [None] * len(calls)

    def worker(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def _single_image_calls(url: str, tensors: np.ndarray) -> list[Callable[[], httpx.Response]]:
    return [lambda i=i: post_tensors(url, tensors[i : i + 1]) for i in range(len(tensors))]


def _decode(response: httpx.Response) -> np.ndarray:
    assert response.status_code == 200, response.text
    return np.frombuffer(response.content, dtype="<f4").reshape(-1, 512)


@pytest.fixture(scope="module")
def batching_service() -> Iterator[ServiceProcess]:
    # A wide window makes merging certain even when the test threads start unevenly.
    with start_pytorch_service(BATCHING_ENABLED="true", BATCH_WINDOW_MS="300") as service:
        yield service


def test_concurrent_requests_are_merged_and_split_back_correctly(
    batching_service: ServiceProcess,
    photo_tensors: dict[str, np.ndarray],
    reference_embedder: ImageEmbedder,
) -> None:
    assert httpx.get(f"{batching_service.url}/info").json()["batching"] is True
    tensors = np.stack(list(photo_tensors.values())[:8])
    before_runs, before_ones = batch_size_counts(batching_service.url)
    responses = _concurrently(_single_image_calls(batching_service.url, tensors))
    served = np.concatenate([_decode(r) for r in responses])
    expected = reference_embeddings(reference_embedder, tensors)
    # Each caller got its own photo's embedding back, not a neighbour's from the batch.
    assert np.sum(served * expected, axis=1).min() > SAME
    runs, ones = batch_size_counts(batching_service.url)
    assert runs - before_runs < len(tensors)  # fewer model executions than requests
    assert (runs - before_runs) - (ones - before_ones) >= 1  # at least one batch of 2 or more
    assert metric(batching_service.url, "photodup_batch_requests_sum") >= len(tensors)


def test_with_batching_off_every_request_runs_alone(
    pytorch_service: ServiceProcess, photo_tensors: dict[str, np.ndarray]
) -> None:
    tensors = np.stack(list(photo_tensors.values())[:6])
    before_runs, before_ones = batch_size_counts(pytorch_service.url)
    for response in _concurrently(_single_image_calls(pytorch_service.url, tensors)):
        _decode(response)
    runs, ones = batch_size_counts(pytorch_service.url)
    assert runs - before_runs == len(tensors)
    assert ones - before_ones == len(tensors)


def test_a_full_queue_answers_503_and_the_rest_are_served(
    limited_service: ServiceProcess, photo_tensors: dict[str, np.ndarray]
) -> None:
    pair = np.stack(list(photo_tensors.values())[:2])
    expected = embed_tensors(limited_service.url, pair)
    # MAX_QUEUE_IMAGES=2: one pair runs, one waits, the others arrive to a full queue.
    responses = _concurrently([lambda: post_tensors(limited_service.url, pair)] * 8)
    refused = [r for r in responses if r.status_code == 503]
    served = [r for r in responses if r.status_code == 200]
    assert len(refused) + len(served) == len(responses), [r.text for r in responses]
    assert refused and served
    for response in refused:
        detail = assert_error(response, 503, "queue_full")
        assert "MAX_QUEUE_IMAGES=2" in detail["error"]
        assert response.headers["retry-after"] == "1"
    for response in served:
        np.testing.assert_allclose(_decode(response), expected, atol=1e-5)
    assert metric(limited_service.url, "photodup_errors_total", kind="queue_full") == len(refused)
    embed_tensors(limited_service.url, pair)  # the queue drained; a lone request is served


def test_sigterm_finishes_requests_in_flight_then_exits_cleanly(
    photo_tensors: dict[str, np.ndarray],
) -> None:
    batch = np.stack([next(iter(photo_tensors.values()))] * 16)
    with start_pytorch_service() as service:
        calls = [lambda: post_tensors(service.url, batch)] * 2
        results: list[httpx.Response] = []
        sender = threading.Thread(target=lambda: results.extend(_concurrently(calls)))
        sender.start()
        deadline = time.monotonic() + 60
        # One request is running and the other is queued: now stop the server.
        while metric(service.url, "photodup_queue_images") < 16:
            assert time.monotonic() < deadline, "the second request never queued"
            time.sleep(0.02)
        assert service.stop() == 0, service.log()
        sender.join(120)
        assert [r.status_code for r in results] == [200, 200]
        assert "batch worker stopped" in service.log()


def test_weights_that_cannot_load_stop_the_service_with_exit_code_1(tmp_path) -> None:
    missing = tmp_path / "no-such-weights.bin"
    env = service_env({"MODEL_CHECKPOINT": str(missing)})
    command = [sys.executable, "-m", "photodup.cli", "serve", "--port", str(free_port())]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 1, done.stderr
    assert "checkpoint file not found" in done.stderr
    assert str(missing) in done.stderr
