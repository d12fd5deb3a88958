"""Run the wheel's ``tritonserver`` as a child process: start, wait until ready, stop cleanly."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from photodup.processes import ChildProcess, ProcessStartError
from photodup.triton.distribution import (
    TritonLaunchError,
    find_distribution,
    prepare_backend_dir,
    server_environment,
)
from photodup.triton.repository import inspect_repository

log = logging.getLogger(__name__)


def _temp_log() -> Path:
    fd, name = tempfile.mkstemp(prefix="tritonserver-", suffix=".log")
    os.close(fd)
    return Path(name)


def _triton_log_tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    # Triton prints wide ASCII tables; keep the lines that carry messages.
    kept = [line for line in text.splitlines() if line and not line.startswith(("+", "|"))]
    return "\n".join(kept[-lines:])


class _TritonProcess(ChildProcess):
    """tritonserver in a process group of its own (its pid is the group id), which its
    Python-backend stubs share.

    A stub notices that tritonserver is gone only when ``kill(parent, 0)`` fails, and that
    succeeds for as long as a killed tritonserver stays an unreaped zombie of ours: so a
    tritonserver killed with SIGKILL left its stub running (about 1 GB, deaf to SIGTERM)
    until whoever started it next polled it, for minutes in practice (measured: still
    alive after 40 s). The parent-death signal cannot help, since a stub is tritonserver's
    child, not ours. A watcher thread therefore reaps tritonserver the moment it exits,
    whatever ended it, and kills what is left of its group; ``stop()`` does the same after
    Triton's own clean shutdown.
    """

    def log_tail(self, lines: int = 30) -> str:
        return _triton_log_tail(self.log_path, lines)

    def start(self) -> None:
        super().start()
        threading.Thread(target=self._reap_on_exit, name="tritonserver-reaper", daemon=True).start()

    def _reap_on_exit(self) -> None:
        process = self.process
        code = process.wait()  # Popen serialises concurrent waits on the same child
        if kill_group(process.pid):
            log.warning("tritonserver exited (code %s); killed its leftover stubs", code)

    def stop(self, timeout_s: float = 20.0) -> int | None:
        code = super().stop(timeout_s)
        if self._process is not None:
            kill_group(self._process.pid)  # stubs that outlived a clean stop
        return code


def kill_group(pgid: int) -> bool:
    """SIGKILL every process left in group ``pgid``; False when it was already empty.

    Safe after the leader is gone: Linux keeps a process-group id allocated, not reused,
    while any member of the group is alive.
    """
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return False
    return True


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
        self._child: _TritonProcess | None = None

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

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return None if self._child is None else self._child.process

    def start(self) -> None:
        inspect_repository(self.model_repository)
        dist = find_distribution()
        backend_dir = prepare_backend_dir(dist, self.cache_dir)
        self._child = _TritonProcess(
            "tritonserver",
            self.command(dist.binary, backend_dir),
            self.log_path,
            env=server_environment(dist, dict(os.environ)),
            inherit_env=False,
            # SIGTERM to tritonserver alone: it drains in-flight requests, then stops its
            # Python-backend stubs itself. A test run or CLI killed with SIGKILL must not
            # leave it holding its ports.
            term_group=False,
            die_with_parent=True,
        )
        self._child.start()
        log.info("tritonserver pid %d, log %s", self._child.process.pid, self.log_path)

    def log_tail(self, lines: int = 30) -> str:
        return _triton_log_tail(self.log_path, lines)

    def wait_ready(self, timeout_s: float) -> None:
        """Poll ``/v2/health/ready``; raise TritonLaunchError with the log tail on failure."""
        if self._child is None:
            raise TritonLaunchError("tritonserver was not started; call start() first")
        try:
            self._child.wait_http_ok(f"{self.http_url}/v2/health/ready", timeout_s)
        except ProcessStartError as exc:
            self.stop()
            raise TritonLaunchError(str(exc)) from None

    def stop(self, timeout_s: float = 20.0) -> int | None:
        """SIGTERM (Triton drains in-flight requests), then SIGKILL if it hangs."""
        return None if self._child is None else self._child.stop(timeout_s)

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
