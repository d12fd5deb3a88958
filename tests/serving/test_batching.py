"""The batch scheduler on its own, with a small numpy function as the model so batch
composition and timing are exact (the service-level tests run the real model)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future

import numpy as np
import pytest

from photodup.serving.batching import BatchScheduler, BatchStats
from photodup.serving.errors import RequestProblem


class GatedModel:
    """Doubles its input; holds the first batch until released, so requests can pile up."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started = threading.Event()
        self.batches: list[int] = []

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.started.set()
        self.gate.wait(10)
        self.batches.append(batch.shape[0])
        return batch * 2.0


def _rows(start: int, count: int) -> np.ndarray:
    return np.arange(start, start + count, dtype=np.float32).reshape(count, 1)


def _scheduler(
    model: GatedModel, stats: list[BatchStats] | None = None, **overrides: object
) -> BatchScheduler:
    options: dict = {"max_batch_size": 8, "batching": True, "window_s": 0.05}
    options["max_queue_images"] = 64
    options.update(overrides)
    sink: list[BatchStats] = stats if stats is not None else []
    scheduler = BatchScheduler(model, on_batch=sink.append, **options)
    scheduler.start()
    return scheduler


def test_queued_requests_run_as_one_batch_and_results_go_back_in_order() -> None:
    model, stats = GatedModel(), []
    scheduler = _scheduler(model, stats)
    first = scheduler.submit(_rows(0, 1))
    assert model.started.wait(5)
    later = [scheduler.submit(_rows(10 * i, i)) for i in (1, 2, 3)]  # 6 images, one batch
    model.gate.set()
    np.testing.assert_array_equal(first.result(5), _rows(0, 1) * 2)
    for i, future in zip((1, 2, 3), later, strict=True):
        np.testing.assert_array_equal(future.result(5), _rows(10 * i, i) * 2)
    scheduler.stop()
    assert model.batches == [1, 6]
    assert [s.requests for s in stats] == [1, 3]
    assert all(len(s.queue_s) == s.requests and min(s.queue_s) >= 0 for s in stats)


def test_a_batch_never_exceeds_max_batch_size() -> None:
    model = GatedModel()
    scheduler = _scheduler(model)
    scheduler.submit(_rows(0, 1))
    assert model.started.wait(5)
    futures = [scheduler.submit(_rows(0, n)) for n in (5, 5, 3, 8)]
    model.gate.set()
    for future, n in zip(futures, (5, 5, 3, 8), strict=True):
        assert future.result(5).shape == (n, 1)
    scheduler.stop()
    # 5 then 5 would be 10 > 8: the second 5 starts the next batch, and takes the 3 along.
    assert model.batches == [1, 5, 8, 8]


def test_batching_off_runs_every_request_alone() -> None:
    model = GatedModel()
    scheduler = _scheduler(model, batching=False)
    scheduler.submit(_rows(0, 2))
    assert model.started.wait(5)
    futures = [scheduler.submit(_rows(0, 1)) for _ in range(4)]
    model.gate.set()
    for future in futures:
        future.result(5)
    scheduler.stop()
    assert model.batches == [2, 1, 1, 1, 1]


def test_a_lone_request_waits_for_the_window_and_no_longer() -> None:
    model = GatedModel()
    model.gate.set()
    scheduler = _scheduler(model, window_s=0.2)
    started = time.perf_counter()
    scheduler.submit(_rows(0, 1)).result(5)
    elapsed = time.perf_counter() - started
    scheduler.stop()
    # At least the window (nothing else came); well under a second even on a loaded machine.
    assert 0.2 <= elapsed < 1.5


def test_a_full_batch_does_not_wait_for_the_window() -> None:
    model = GatedModel()
    model.gate.set()
    scheduler = _scheduler(model, window_s=30.0)
    started = time.perf_counter()
    scheduler.submit(_rows(0, 8)).result(5)
    assert time.perf_counter() - started < 5
    scheduler.stop()


def test_queue_bound_refuses_with_an_unavailable_problem() -> None:
    model = GatedModel()
    scheduler = _scheduler(model, max_queue_images=4, batching=False)
    scheduler.submit(_rows(0, 1))
    assert model.started.wait(5)  # the worker holds this one; the queue is empty again
    admitted = scheduler.submit(_rows(0, 3))
    with pytest.raises(RequestProblem) as refused:
        scheduler.submit(_rows(0, 2))
    assert refused.value.category == "unavailable"
    assert refused.value.kind == "queue_full"
    assert "MAX_QUEUE_IMAGES=4" in refused.value.message
    model.gate.set()
    admitted.result(5)
    scheduler.stop()


def test_a_request_larger_than_the_queue_is_admitted_when_the_queue_is_empty() -> None:
    model = GatedModel()
    model.gate.set()
    scheduler = _scheduler(model, max_queue_images=2)
    assert scheduler.submit(_rows(0, 6)).result(5).shape == (6, 1)
    scheduler.stop()


def test_a_failing_batch_fails_its_requests_and_the_worker_goes_on() -> None:
    calls = []

    def flaky(batch: np.ndarray) -> np.ndarray:
        calls.append(batch.shape[0])
        if len(calls) == 1:
            raise RuntimeError("device lost")
        return batch

    scheduler = BatchScheduler(
        flaky, max_batch_size=8, batching=False, window_s=0.0, max_queue_images=8
    )
    scheduler.start()
    with pytest.raises(RuntimeError, match="device lost"):
        scheduler.submit(_rows(0, 1)).result(5)
    assert scheduler.submit(_rows(0, 2)).result(5).shape == (2, 1)
    scheduler.stop()


def test_stop_finishes_queued_work_then_refuses_new_work() -> None:
    model = GatedModel()
    scheduler = _scheduler(model, batching=False)
    futures = [scheduler.submit(_rows(0, 1)) for _ in range(3)]
    assert model.started.wait(5)
    stopper = threading.Thread(target=scheduler.stop)
    stopper.start()
    model.gate.set()
    stopper.join(10)
    assert all(f.result(0).shape == (1, 1) for f in futures)
    with pytest.raises(RequestProblem) as refused:
        scheduler.submit(_rows(0, 1))
    assert refused.value.kind == "stopping"


def test_a_cancelled_request_is_skipped() -> None:
    model = GatedModel()
    scheduler = _scheduler(model, batching=False)
    scheduler.submit(_rows(0, 1))
    assert model.started.wait(5)
    cancelled: Future[np.ndarray] = scheduler.submit(_rows(0, 5))
    assert cancelled.cancel()  # the caller went away while it was queued
    kept = scheduler.submit(_rows(0, 2))
    model.gate.set()
    kept.result(5)
    scheduler.stop()
    assert model.batches == [1, 2]
    assert scheduler.queued_images == 0
