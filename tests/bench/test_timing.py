"""Timed loops with real sleeping calls: sample counts, warm-up exclusion, real concurrency."""

from __future__ import annotations

import threading
import time

import pytest

from photodup.bench.timing import BenchRunError, run_concurrent, run_sequential


def test_sequential_excludes_warmup_and_counts_failures() -> None:
    seen: list[int] = []
    marked: list[int] = []

    def call(i: int) -> int:
        seen.append(i)
        if i == 3:
            raise RuntimeError("boom")
        return 2

    summary, failures = run_sequential(
        call, requests=5, warmup=2, batch_size=2, after_warmup=lambda: marked.append(len(seen))
    )
    assert seen[:2] == [-1, -2]  # warm-up indices are negative, never reused as timed ones
    assert marked == [2]  # the snapshot hook runs after the warm-up, before the timed calls
    assert summary.requests == 4 and summary.images == 8 and summary.errors == 1
    assert summary.warmup_requests == 2
    assert failures.messages == ["RuntimeError: boom"]


def test_all_failing_run_raises() -> None:
    def call(i: int) -> int:
        if i >= 0:
            raise OSError("refused")
        return 1

    with pytest.raises(BenchRunError, match="refused"):
        run_sequential(call, requests=3, warmup=1)


def test_concurrent_run_really_overlaps_requests() -> None:
    in_flight = 0
    peak = 0
    lock = threading.Lock()

    def call(i: int) -> int:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.05)
        with lock:
            in_flight -= 1
        return 1

    summary, _ = run_concurrent(call, concurrency=4, requests=16, warmup=4)
    assert peak == 4
    assert summary.requests == 16 and summary.images == 16
    assert summary.concurrency == 4 and summary.warmup_requests == 4
    # 16 sleeps of 50 ms on 4 workers take ~0.2 s, far less than the 0.8 s of a serial loop.
    assert summary.wall_s < 0.6
    assert summary.latency.p50_ms >= 50.0


def test_every_worker_warms_up_on_its_own_thread_before_the_clock() -> None:
    warm_threads: set[str] = set()
    timed_threads: set[str] = set()
    snapshot_at: list[int] = []

    def call(i: int) -> int:
        (warm_threads if i < 0 else timed_threads).add(threading.current_thread().name)
        time.sleep(0.01)
        return 1

    summary, _ = run_concurrent(
        call,
        concurrency=3,
        requests=12,
        warmup=3,
        after_warmup=lambda: snapshot_at.append(len(timed_threads)),
    )
    assert snapshot_at == [0]  # no timed request before the server snapshot
    assert len(warm_threads) == 3 and timed_threads <= warm_threads
    assert summary.warmup_requests == 3 and summary.requests == 12


def test_a_failing_snapshot_abandons_the_run_without_hanging() -> None:
    def broken() -> None:
        raise ConnectionError("stats endpoint down")

    with pytest.raises(ConnectionError):
        run_concurrent(lambda i: 1, concurrency=2, requests=4, warmup=2, after_warmup=broken)
