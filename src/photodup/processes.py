"""Servers started as child processes: spawn, wait until ready, stop; and free loopback ports.

Used by ``photodup demo`` (the backend it starts), the bench's ``--start-local``, the local
Triton launcher and the tests. Each child runs in a session (process group) of its own with its
output in a log file, so it can be stopped with everything it started, and a failure to come
up is reported with the last lines of that log.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Self

import httpx

log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on at the time of asking."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ProcessStartError(RuntimeError):
    """A child process did not come up; the message names it and carries its log tail."""


def _die_with_parent() -> None:
    # Runs in the child before exec: a parent killed with SIGKILL must not leave it running.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _answers_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


class ChildProcess:
    """One server process, its output in ``log_path``; a context manager starts and stops it.

    ``env`` overrides this process's environment, or is the whole environment when
    ``inherit_env`` is False. ``stop()`` sends SIGTERM to the child's whole process group, or
    to the child alone with ``term_group=False`` (for a server that stops its own children in
    order, like tritonserver); SIGKILL after the timeout always goes to the group.
    ``die_with_parent`` asks the kernel to SIGTERM the child if this process dies first. The
    kernel ties that to the *thread* that forked it: start such a child from a thread that
    outlives it (the main thread), or it is stopped as soon as that thread ends.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        inherit_env: bool = True,
        term_group: bool = True,
        die_with_parent: bool = False,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env or {})
        self.inherit_env = inherit_env
        self.term_group = term_group
        self.die_with_parent = die_with_parent
        #: ``time.perf_counter()`` just before the spawn, for cold-start timings.
        self.started_at = 0.0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def process(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise RuntimeError(f"{self.name} has not been started")
        return self._process

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env} if self.inherit_env else self.env
        # The child keeps its own copy of the descriptor; ours is closed at once.
        with self.log_path.open("wb") as log_file:
            self.started_at = time.perf_counter()
            self._process = subprocess.Popen(
                self.argv,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # A session of its own: a terminal's Ctrl-C does not reach it, and stopping
                # the group also stops what it started (Triton's Python-backend stubs).
                start_new_session=True,
                preexec_fn=_die_with_parent if self.die_with_parent else None,
            )

    def poll(self) -> int | None:
        """The exit code, or None while it runs (or before it is started)."""
        return None if self._process is None else self._process.poll()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def wait_until(
        self, ready: Callable[[], bool], what: str, timeout_s: float, poll_s: float = 0.25
    ) -> float:
        """Seconds from spawn until ``ready()``; ProcessStartError if it exits or times out."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self.process.poll() is not None:
                raise ProcessStartError(
                    f"{self.name} exited with code {self.process.returncode} before {what} was "
                    f"ready (log {self.log_path}):\n{self.log_tail()}"
                )
            if ready():
                return time.perf_counter() - self.started_at
            if time.monotonic() > deadline:
                raise ProcessStartError(
                    f"{self.name}: {what} not ready after {timeout_s:.0f} s "
                    f"(log {self.log_path}):\n{self.log_tail()}"
                )
            time.sleep(poll_s)

    def wait_http_ok(self, url: str, timeout_s: float, poll_s: float = 0.25) -> float:
        """Seconds from spawn until ``url`` answers 200; ProcessStartError otherwise."""
        return self.wait_until(lambda: _answers_ok(url), url, timeout_s, poll_s)

    def stop(self, timeout_s: float = 20.0) -> int | None:
        """SIGTERM, then SIGKILL if it has not exited within ``timeout_s``; the exit code."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                if self.term_group:
                    os.killpg(process.pid, signal.SIGTERM)
                else:
                    process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0f s; killing it", self.name, timeout_s)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        return process.returncode

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
