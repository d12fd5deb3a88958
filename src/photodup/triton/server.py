"""Run the wheel's ``tritonserver`` as a child process: start, wait until ready, stop cleanly."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

from photodup.triton.distribution import (
    TritonLaunchError,
    find_distribution,
    prepare_backend_dir,
    server_environment,
)
from photodup.triton.repository import inspect_repository

log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # A test run or CLI killed with SIGKILL must not leave tritonserver holding its ports.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _temp_log() -> Path:
    fd, name = tempfile.mkstemp(prefix="tritonserver-", suffix=".log")
    os.close(fd)
    return Path(name)


@dataclass(frozen=True)
class TritonPorts:
    http: int
    grpc: int
    metrics: int
    host: str = "127.0.0.1"


class LocalTriton:
    """One ``tritonserver`` process serving ``model_repository`` on ``ports``."""

    def __init__(
        self,
        model_repository: Path,
        ports: TritonPorts,
        *,
        log_path: Path | None = None,
        log_verbose: int = 0,
        poll_repository_s: int | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.model_repository = model_repository.resolve()
        self.ports = ports
        self._log_path = log_path
        self.log_verbose = log_verbose
        self.poll_repository_s = poll_repository_s
        self.cache_dir = cache_dir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        """Triton's log; a temporary file is made on first use when none was given."""
        if self._log_path is None:
            self._log_path = _temp_log()
        return self._log_path

    @property
    def http_url(self) -> str:
        return f"http://{self.ports.host}:{self.ports.http}"

    @property
    def grpc_url(self) -> str:
        return f"{self.ports.host}:{self.ports.grpc}"

    @property
    def metrics_url(self) -> str:
        """The Prometheus endpoint to scrape."""
        return f"http://{self.ports.host}:{self.ports.metrics}/metrics"

    def command(self, binary: Path, backend_dir: Path) -> list[str]:
        cmd = [
            str(binary),
            f"--model-repository={self.model_repository}",
            f"--backend-directory={backend_dir}",
            f"--http-address={self.ports.host}",
            f"--http-port={self.ports.http}",
            f"--grpc-address={self.ports.host}",
            f"--grpc-port={self.ports.grpc}",
            f"--metrics-address={self.ports.host}",
            f"--metrics-port={self.ports.metrics}",
            "--allow-gpu-metrics=false",
            "--exit-timeout-secs=10",
            f"--log-verbose={self.log_verbose}",
        ]
        if self.poll_repository_s:
            # Poll mode lets `photodup export --new-version` hot-swap the served version.
            cmd += ["--model-control-mode=poll", f"--repository-poll-secs={self.poll_repository_s}"]
        return cmd

    def start(self) -> None:
        inspect_repository(self.model_repository)
        dist = find_distribution()
        backend_dir = prepare_backend_dir(dist, self.cache_dir)
        env = server_environment(dist, dict(os.environ))
        with self.log_path.open("wb") as log_file:
            self.process = subprocess.Popen(
                self.command(dist.binary, backend_dir),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                # Own process group: a terminal's Ctrl-C reaches us, and we stop Triton in order.
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        log.info("tritonserver pid %d, log %s", self.process.pid, self.log_path)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        # Triton prints wide ASCII tables; keep the lines that carry messages.
        kept = [line for line in text.splitlines() if line and not line.startswith(("+", "|"))]
        return "\n".join(kept[-lines:])

    def wait_ready(self, timeout_s: float) -> None:
        """Poll ``/v2/health/ready``; raise TritonLaunchError with the log tail on failure."""
        deadline = time.monotonic() + timeout_s
        url = f"{self.http_url}/v2/health/ready"
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                code = None if self.process is None else self.process.returncode
                raise TritonLaunchError(
                    f"tritonserver exited with code {code} before it was ready "
                    f"(log {self.log_path}):\n{self.log_tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2.0).status_code == 200:
                    return
            time.sleep(0.25)
        self.stop()
        raise TritonLaunchError(
            f"tritonserver not ready at {url} after {timeout_s:.0f} s "
            f"(log {self.log_path}):\n{self.log_tail()}"
        )

    def stop(self, timeout_s: float = 20.0) -> int | None:
        """SIGTERM (Triton drains in-flight requests), then SIGKILL if it hangs."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                log.warning("tritonserver did not stop within %.0f s; killing it", timeout_s)
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode

    def __enter__(self) -> LocalTriton:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
