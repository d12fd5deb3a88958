"""D10/D12: every Triton transport failure becomes the client's own error, over both protocols.

A real tritonserver is killed with SIGKILL in the middle of an embedding loop and restarted on
the same ports: the client reports BackendUnavailableError (never a raw geventhttpclient or
grpc exception), waits for the server like the PyTorch path does, and carries on with the same
vectors. Pointed at the wrong port, it fails at once with a message naming URL and protocol.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import numpy as np
import pytest

from client.helpers import client_settings, cosine_rows
from fixtures.triton import TRITON_STARTUP_TIMEOUT_S, start_triton
from photodup import contract
from photodup.client import BackendUnavailableError, InferenceClient, InferenceError
from photodup.triton import LocalTriton

RNG = np.random.default_rng(10)
BATCH = RNG.standard_normal((4, *contract.INPUT_SHAPE), dtype=np.float32)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _kill_hard(server: LocalTriton) -> None:
    """SIGKILL tritonserver, then the Python-backend stubs it started (they would linger)."""
    process = server.process
    assert process is not None
    stubs = _children(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    for pid in stubs:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextmanager
def _set_on_exit(event: threading.Event) -> Iterator[None]:
    try:
        yield
    finally:
        event.set()


@pytest.fixture
def own_triton(model_repository: Path, tmp_path: Path) -> Iterator[list[LocalTriton]]:
    """A Triton of our own to kill; the list holds the current (restarted) server."""
    servers = [start_triton(model_repository, tmp_path)]
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_kill_9_mid_loop_then_restart_the_client_waits_and_succeeds(
    protocol: str, own_triton: list[LocalTriton], tmp_path: Path
) -> None:
    server = own_triton[0]
    url = server.http_url if protocol == "http" else server.grpc_url
    settings = client_settings(retries=2, timeout_s=30.0)
    client = InferenceClient(url, "triton", protocol=protocol, settings=settings)
    reference = client.embed_tensors(BATCH)
    restarted, finished = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def kill_then_restart() -> None:
        try:
            time.sleep(0.5)
            _kill_hard(server)
            time.sleep(1.0)  # the client sees it down for a while
            log = tmp_path / "restarted.log"
            fresh = LocalTriton(server.model_repository, server.ports, log_path=log)
            own_triton.append(fresh)
            fresh.start()
            fresh.wait_ready(TRITON_STARTUP_TIMEOUT_S)
        except BaseException as exc:
            failures.append(exc)
        finally:
            restarted.set()
        # The server dies with the thread that started it (PR_SET_PDEATHSIG): keep it alive.
        finished.wait(TRITON_STARTUP_TIMEOUT_S * 2)

    threading.Thread(target=kill_then_restart, daemon=True).start()
    outcomes: list[str] = []
    deadline = time.monotonic() + 240

    def oks_since_down() -> int:
        if "down" not in outcomes:
            return 0
        return outcomes[::-1].index("down")  # answers after the last "down"

    with client, _set_on_exit(finished):
        # On an idle machine three answers can come before the kill: go on until three come
        # after the server was seen down, so the restart itself is what is tested.
        while not (restarted.is_set() and oks_since_down() >= 3):
            assert time.monotonic() < deadline, outcomes
            try:
                vectors = client.embed_tensors(BATCH)
            except BackendUnavailableError as exc:
                # What the scan does: wait for the backend (PHOTODUP_BACKEND_WAIT_S), go on.
                assert url in str(exc) and f"({protocol})" in str(exc)
                outcomes.append("down")
                restarted.wait(TRITON_STARTUP_TIMEOUT_S)
                assert not failures, failures
                client.wait_until_ready(TRITON_STARTUP_TIMEOUT_S)
                continue
            assert cosine_rows(vectors, reference).min() > 0.99999
            outcomes.append("ok")
    assert "down" in outcomes
    assert outcomes[-1] == "ok"


@pytest.mark.parametrize(
    ("protocol", "port", "said"),
    [
        ("http", "grpc", "does not speak HTTP"),
        ("grpc", "http", "does not speak gRPC"),
        ("http", "metrics", "cannot read"),
    ],
)
def test_wrong_port_fails_at_once_naming_url_and_protocol(
    protocol: str, port: str, said: str, triton_server: LocalTriton
) -> None:
    host = triton_server.ports.host
    url = f"{host}:{getattr(triton_server.ports, port)}"
    settings = client_settings(retries=3, timeout_s=10.0)
    with InferenceClient(url, "triton", protocol=protocol, settings=settings) as client:
        for call in (
            lambda: client.embed_tensors(BATCH),
            client.server_info,
            lambda: client.wait_until_ready(60.0),
        ):
            started = time.monotonic()
            with pytest.raises(InferenceError) as err:
                call()
            assert time.monotonic() - started < 5.0  # no retries, no waiting
            assert not isinstance(err.value, BackendUnavailableError)
            message = str(err.value)
            assert url in message and f"({protocol})" in message and said in message, message
        assert client.ready() is False


def test_an_unresolvable_host_is_a_clear_error() -> None:
    for protocol in ("http", "grpc"):
        settings = client_settings(retries=0, timeout_s=5.0)
        url = "no-such-host.invalid:8003"
        client = InferenceClient(url, "triton", protocol=protocol, settings=settings)
        with client, pytest.raises(InferenceError) as err:
            client.embed_tensors(BATCH)
        assert "no-such-host.invalid" in str(err.value) and "resolved" in str(err.value)
