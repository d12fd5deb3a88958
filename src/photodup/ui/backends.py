"""Which inference backends the page offers, and whether each is ready, without stalling pages.

A readiness probe of a backend that is down can take seconds (connect timeouts); pages must
not wait for it. Probes run in a small thread pool, their answers are kept for a few
seconds, and a page waits at most ``wait_s`` for a fresh one (otherwise it shows the last
known answer, or "not reachable" if there is none).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from photodup.ui.settings import BackendChoice


@dataclass(frozen=True)
class BackendState:
    choice: BackendChoice
    ready: bool


class BackendRegistry:
    def __init__(self, choices: list[BackendChoice], *, ttl_s: float = 3.0) -> None:
        if not choices:
            raise ValueError("at least one inference backend must be configured")
        self.choices = choices
        self.selected = 0
        self.ttl_s = ttl_s
        self._pool = ThreadPoolExecutor(
            max_workers=max(2, len(choices)), thread_name_prefix="probe"
        )
        self._lock = threading.Lock()
        self._known: dict[int, tuple[float, bool]] = {}
        self._inflight: dict[int, Future[bool]] = {}

    @property
    def current(self) -> BackendChoice:
        return self.choices[self.selected]

    def select(self, index: int) -> BackendChoice:
        if not 0 <= index < len(self.choices):
            raise IndexError(f"backend {index} does not exist; choose 0..{len(self.choices) - 1}")
        self.selected = index
        return self.current

    def _probe(self, index: int) -> bool:
        from photodup.client import InferenceClient

        choice = self.choices[index]
        try:
            with InferenceClient(choice.url, choice.backend, protocol=choice.protocol) as client:
                ready = client.ready()
        except Exception:  # a bad URL or anything else: the page shows "not reachable"
            ready = False
        with self._lock:
            self._known[index] = (time.monotonic(), ready)
            self._inflight.pop(index, None)
        return ready

    def is_ready(self, index: int, wait_s: float = 1.0) -> bool:
        with self._lock:
            known = self._known.get(index)
            if known is not None and time.monotonic() - known[0] < self.ttl_s:
                return known[1]
            future = self._inflight.get(index)
            if future is None:
                future = self._pool.submit(self._probe, index)
                self._inflight[index] = future
        try:
            return future.result(timeout=wait_s)
        except FutureTimeout:
            return known[1] if known is not None else False

    def states(self, wait_s: float = 1.0) -> list[BackendState]:
        # Start every probe first so they run side by side, then collect.
        for i in range(len(self.choices)):
            self.is_ready(i, wait_s=0)
        return [BackendState(c, self.is_ready(i, wait_s)) for i, c in enumerate(self.choices)]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
