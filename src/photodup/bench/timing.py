"""Timed loops: sequential requests and a fixed number of requests from N threads.

A "call" is any function that sends one request and returns how many images it embedded, so
the same loops time the served backends (through the client) and the raw in-process engines.
Warm-up calls run first, are excluded from every figure and are counted in the summary.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from photodup.bench.stats import ThroughputSummary, summarise_throughput

#: call(i) sends request number i and returns the number of images it embedded.
Call = Callable[[int], int]

#: The first few failures are kept verbatim so a report can say what went wrong.
_KEEP_ERRORS = 5


@dataclass
class RunFailures:
    count: int = 0
    messages: list[str] = field(default_factory=list)

    def add(self, exc: BaseException) -> None:
        self.count += 1
        if len(self.messages) < _KEEP_ERRORS:
            self.messages.append(f"{type(exc).__name__}: {exc}")


class BenchRunError(RuntimeError):
    """Every request of a timed run failed, so there is nothing to summarise."""


def _nothing() -> None:
    return None


def run_sequential(
    call: Call,
    *,
    requests: int,
    warmup: int,
    batch_size: int = 1,
    after_warmup: Callable[[], None] = _nothing,
) -> tuple[ThroughputSummary, RunFailures]:
    """Send ``warmup`` untimed then ``requests`` timed requests one after another.

    ``after_warmup`` runs between the two, outside the clock (e.g. a server-stats snapshot).
    """
    failures = RunFailures()
    for i in range(warmup):
        call(-1 - i)
    after_warmup()
    latencies: list[float] = []
    images = 0
    started = time.perf_counter()
    for i in range(requests):
        t0 = time.perf_counter()
        try:
            images += call(i)
        except Exception as exc:  # a failed request is counted and reported, the run goes on
            failures.add(exc)
            continue
        latencies.append(time.perf_counter() - t0)
    wall = time.perf_counter() - started
    if not latencies:
        raise BenchRunError(f"all {requests} requests failed: {failures.messages}")
    summary = summarise_throughput(
        latencies,
        images=images,
        wall_s=wall,
        errors=failures.count,
        warmup_requests=warmup,
        concurrency=1,
        batch_size=batch_size,
    )
    return summary, failures


def run_concurrent(
    call: Call,
    *,
    concurrency: int,
    requests: int,
    warmup: int,
    batch_size: int = 1,
    after_warmup: Callable[[], None] = _nothing,
) -> tuple[ThroughputSummary, RunFailures]:
    """Keep ``concurrency`` requests in flight until ``requests`` timed ones have completed.

    Each worker first sends its share of the ``warmup`` requests (rounded up), so every thread
    and its connection are up before the clock starts and set-up is not counted.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    failures = RunFailures()
    lock = threading.Lock()
    latencies: list[float] = []
    images = [0]
    next_index = [0]

    per_worker_warmup = -(-warmup // concurrency) if warmup > 0 else 0
    warmed = threading.Barrier(concurrency + 1)
    go = threading.Barrier(concurrency + 1)

    def worker(worker_index: int) -> None:
        # The same thread warms up and then sends timed requests, so per-thread connections
        # (the Triton client keeps one per thread) already exist when the clock starts.
        for k in range(per_worker_warmup):
            # A warm-up failure is not the measured run's; the timed requests will show it.
            with contextlib.suppress(Exception):
                call(-1 - worker_index * per_worker_warmup - k)
        try:
            warmed.wait()
            go.wait()
        except threading.BrokenBarrierError:
            return  # the run was abandoned before the clock started
        while True:
            with lock:
                i = next_index[0]
                if i >= requests:
                    return
                next_index[0] += 1
            t0 = time.perf_counter()
            try:
                n = call(i)
            except Exception as exc:
                with lock:
                    failures.add(exc)
                continue
            elapsed = time.perf_counter() - t0
            with lock:
                latencies.append(elapsed)
                images[0] += n

    threads = [
        threading.Thread(target=worker, args=(k,), name=f"bench-{k}", daemon=True)
        for k in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    warmed.wait()
    try:
        after_warmup()
    except BaseException:
        go.abort()
        raise
    started = time.perf_counter()
    go.wait()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if not latencies:
        raise BenchRunError(f"all {requests} requests failed: {failures.messages}")
    summary = summarise_throughput(
        latencies,
        images=images[0],
        wall_s=wall,
        errors=failures.count,
        warmup_requests=per_worker_warmup * concurrency,
        concurrency=concurrency,
        batch_size=batch_size,
    )
    return summary, failures
