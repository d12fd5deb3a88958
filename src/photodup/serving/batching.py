"""One worker thread in front of the model, with a bounded queue and optional micro-batching.

With batching on, the worker takes the oldest request and keeps collecting queued requests
until the batch holds ``max_batch_size`` images or ``window_s`` has passed since that first
request was queued (Triton's ``max_queue_delay`` has the same meaning); the outputs are then
split back per request. With batching off, every request runs alone, one at a time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from photodup.serving.errors import RequestProblem, unavailable

log = logging.getLogger(__name__)


@dataclass
class _Job:
    batch: np.ndarray
    future: Future[np.ndarray] = field(default_factory=Future)
    queued_at: float = field(default_factory=time.perf_counter)

    @property
    def size(self) -> int:
        return int(self.batch.shape[0])


@dataclass(frozen=True)
class BatchStats:
    """What one model execution did: reported to the metrics after every batch."""

    images: int
    requests: int
    compute_s: float
    #: Time each request spent queued before its batch started, in request order.
    queue_s: tuple[float, ...]


class BatchScheduler:
    def __init__(
        self,
        run: Callable[[np.ndarray], np.ndarray],
        *,
        max_batch_size: int,
        batching: bool,
        window_s: float,
        max_queue_images: int,
        on_batch: Callable[[BatchStats], None] = lambda stats: None,
    ) -> None:
        self._run = run
        self._max_batch = max_batch_size
        self._batching = batching
        self._window_s = window_s
        self._max_queue = max_queue_images
        self._on_batch = on_batch
        self._queue: deque[_Job] = deque()
        self._queued_images = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="photodup-batcher", daemon=True)

    @property
    def queued_images(self) -> int:
        return self._queued_images

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Finish what is queued, then end the worker; later submits are refused."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def submit(self, batch: np.ndarray) -> Future[np.ndarray]:
        """Queue ``batch`` (at most ``max_batch_size`` images); raises a 503-class problem
        when the queue is full. A request larger than the whole queue is still admitted when
        the queue is empty, so every valid request can eventually run."""
        job = _Job(batch)
        with self._cond:
            if self._stopping:
                raise unavailable(
                    "the service is shutting down; retry on another instance", "stopping"
                )
            waiting = self._queued_images
            if waiting and waiting + job.size > self._max_queue:
                raise RequestProblem(
                    f"queue full: {waiting} images are waiting and this request adds {job.size} "
                    f"(MAX_QUEUE_IMAGES={self._max_queue}); retry shortly or send fewer "
                    "requests at once",
                    "queue_full",
                    "unavailable",
                    extra={"queued_images": waiting, "limit": self._max_queue},
                )
            self._queue.append(job)
            self._queued_images += job.size
            self._cond.notify()
        return job.future

    def _pop(self) -> _Job | None:
        """Pop the oldest job (lock held); None when it was cancelled by its caller."""
        job = self._queue.popleft()
        self._queued_images -= job.size
        return job if job.future.set_running_or_notify_cancel() else None

    def _take(self) -> list[_Job] | None:
        with self._cond:
            jobs: list[_Job] = []
            while not jobs:
                while not self._queue:
                    if self._stopping:
                        return None
                    self._cond.wait()
                first = self._pop()
                if first is not None:
                    jobs.append(first)
            if not self._batching:
                return jobs
            images = jobs[0].size
            deadline = jobs[0].queued_at + self._window_s
            while images < self._max_batch:
                if self._queue:
                    if images + self._queue[0].size > self._max_batch:
                        break  # the next request runs first in the following batch
                    job = self._pop()
                    if job is not None:
                        jobs.append(job)
                        images += job.size
                    continue
                remaining = deadline - time.perf_counter()
                if remaining <= 0 or self._stopping:
                    break
                self._cond.wait(remaining)
            return jobs

    def _loop(self) -> None:
        while (jobs := self._take()) is not None:
            self._execute(jobs)
        log.info("batch worker stopped")

    def _execute(self, jobs: list[_Job]) -> None:
        started = time.perf_counter()
        batch = jobs[0].batch if len(jobs) == 1 else np.concatenate([j.batch for j in jobs])
        try:
            output = self._run(batch)
        except Exception as exc:  # every caller of this batch gets the error, the worker lives
            log.exception("model execution failed for a batch of %d images", batch.shape[0])
            for job in jobs:
                job.future.set_exception(exc)
            return
        compute_s = time.perf_counter() - started
        offset = 0
        for job in jobs:
            job.future.set_result(output[offset : offset + job.size])
            offset += job.size
        self._on_batch(
            BatchStats(
                images=int(batch.shape[0]),
                requests=len(jobs),
                compute_s=compute_s,
                queue_s=tuple(started - job.queued_at for job in jobs),
            )
        )
