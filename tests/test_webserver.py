"""D12: slow clients. Real sockets trickle a request's headers or its body into both real
servers (``photodup serve`` as a process, the review page under the same uvicorn set-up);
each is answered 408 and closed within its limit while a normal request still succeeds."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from fixtures.service import start_pytorch_service
from photodup.webserver import HttpServerSettings, ListenError, bind
from ui.helpers import serve_ui

HEADER_S, BODY_S = 1.5, 2.5
#: Scheduling slack on two shared cores; far below the minutes a slow client held before.
SLACK_S = 2.0
LIMITS = HttpServerSettings(header_timeout_s=HEADER_S, body_timeout_s=BODY_S)


@dataclass
class Trickled:
    seconds: float  # from the first byte until the server closed the connection
    reply: bytes
    bytes_sent: int


def trickle(url: str, head: bytes, drip: bytes, *, give_up_s: float = 30.0) -> Trickled:
    """Send ``head``, then ``drip`` every 0.2 s, until the server closes the connection."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    started = time.monotonic()
    reply, sent = b"", 0
    try:
        sock.sendall(head)
        sent += len(head)
        while time.monotonic() - started < give_up_s:
            readable, _, _ = select.select([sock], [], [], 0.2)
            if readable:
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                if not chunk:
                    return Trickled(time.monotonic() - started, reply, sent)
                reply += chunk
                continue
            try:
                sock.sendall(drip)
                sent += len(drip)
            except (BrokenPipeError, ConnectionResetError):
                return Trickled(time.monotonic() - started, reply, sent)
        raise AssertionError(f"the server kept the connection open for {give_up_s} s")
    finally:
        sock.close()


def check_slow_clients(url: str, slow_headers: bytes, slow_body: bytes, normal: str) -> None:
    results: dict[str, Trickled] = {}

    def run(name: str, head: bytes, drip: bytes) -> Callable[[], None]:
        return lambda: results.__setitem__(name, trickle(url, head, drip))

    threads = [
        threading.Thread(target=run("headers", slow_headers, b"X-Slow: 1\r\n")),
        threading.Thread(target=run("body", slow_body, b"a")),
    ]
    for t in threads:
        t.start()
    time.sleep(0.5)
    # While both hang on, the server answers others at once.
    with httpx.Client(base_url=url, timeout=5) as client:
        started = time.monotonic()
        assert client.get(normal).status_code == 200
        assert time.monotonic() - started < 2.0
    for t in threads:
        t.join(60)
    for name, limit in (("headers", HEADER_S), ("body", BODY_S)):
        got = results[name]
        assert limit - 0.3 <= got.seconds <= limit + SLACK_S, (name, got)
        assert got.reply.startswith(b"HTTP/1.1 408"), (name, got.reply[:200])
        body = json.loads(got.reply.partition(b"\r\n\r\n")[2])  # the service's error shape
        assert body["detail"]["kind"] == "request_timeout" and body["detail"]["items"] == []
        assert got.bytes_sent > len(slow_headers) + 3, got  # it was still sending
    # The server is still healthy after the timeouts.
    assert httpx.get(url + normal, timeout=5).status_code == 200


def _head(method: str, path: str, *headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *headers]
    return ("\r\n".join(lines) + "\r\n").encode()


def test_the_service_closes_slow_clients() -> None:
    env = {
        "PHOTODUP_HTTP_HEADER_TIMEOUT_S": str(HEADER_S),
        "PHOTODUP_HTTP_BODY_TIMEOUT_S": str(BODY_S),
    }
    with start_pytorch_service(**env) as service:
        body_head = _head("POST", "/embed/base64", "Content-Type: application/json",
                          "Content-Length: 100000", "") + b"\r\n"  # fmt: skip
        check_slow_clients(service.url, _head("GET", "/health"), body_head, "/health")
        log = service.log()
    assert "request headers not received in 1.5 s" in log, log[-3000:]
    assert "request body not received in 2.5 s" in log
    assert "Traceback" not in log  # a client too slow is not a server error


def test_the_review_page_closes_slow_clients(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    library = tmp_path / "library"
    library.mkdir()
    with serve_ui(library, "pytorch=http://127.0.0.1:9", http=LIMITS) as server:
        body_head = _head("POST", "/undo", "Content-Type: application/x-www-form-urlencoded",
                          "Content-Length: 100000", "") + b"\r\n"  # fmt: skip
        check_slow_clients(server.url, _head("GET", "/health"), body_head, "/health")
    messages = [r.getMessage() for r in caplog.records]
    assert any("request body not received in 2.5 s" in m for m in messages), messages
    assert not [r for r in caplog.records if r.exc_info], messages  # no traceback logged


def test_a_port_in_use_is_a_clear_error() -> None:
    sock = bind("127.0.0.1", 0)
    try:
        with pytest.raises(ListenError, match=r"cannot listen on 127\.0\.0\.1:\d+"):
            bind("127.0.0.1", sock.getsockname()[1])
    finally:
        sock.close()


def test_hundreds_of_stalled_connections_neither_block_nor_stay(tmp_path: Path) -> None:
    """The issue's probe: 500 connections held open for 40 s. Now they go within the limit."""
    library = tmp_path / "library"
    library.mkdir()
    with serve_ui(library, "pytorch=http://127.0.0.1:9", http=LIMITS) as server:
        host, port = server.url.removeprefix("http://").split(":")
        stalled = []
        for _ in range(300):
            sock = socket.create_connection((host, int(port)), timeout=5)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
            stalled.append(sock)
        started = time.monotonic()
        try:
            assert httpx.get(server.url + "/health", timeout=5).status_code == 200
            assert time.monotonic() - started < 2.0  # answered while they wait
            open_ = list(stalled)
            while open_ and time.monotonic() - started < HEADER_S + 3 * SLACK_S:
                readable, _, _ = select.select(open_, [], [], 0.5)
                for sock in readable:
                    while sock.recv(65536):  # the 408, then end of stream
                        pass
                    open_.remove(sock)
            assert not open_, f"{len(open_)} of 300 stalled connections still open"
        finally:
            for sock in stalled:
                sock.close()


def test_oversized_headers_are_refused(tmp_path: Path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    with serve_ui(library, "pytorch=http://127.0.0.1:9", http=LIMITS) as server:
        for size in (LIMITS.max_header_bytes + 100, 200_000, 2_000_000):  # one read, or many
            big = {"X-Big": "a" * size}
            try:
                reply = httpx.get(server.url + "/health", headers=big, timeout=5)
            except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
                assert size > 100_000  # closed while the client was still writing it
                continue
            assert reply.status_code in (400, 431), (size, reply.status_code)
            if size < 100_000:  # in one read: our count, not h11's incomplete-event limit
                assert reply.status_code == 431 and "too large" in reply.json()["detail"]["error"]
        with httpx.Client(base_url=server.url, timeout=5) as client:  # keep-alive: counts reset
            fits = {"X-Big": "a" * (LIMITS.max_header_bytes - 1024)}
            for _ in range(3):
                assert client.get("/health", headers=fits).status_code == 200
