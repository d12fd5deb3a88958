"""The one uvicorn setup of both HTTP servers (the embedding service and the review page).

uvicorn on its own never times out a request that is still arriving: a client that sends a
header byte every second, or a body one byte at a time, holds its connection for ever, and
a few hundred such clients exhaust the server. Here every request must arrive in time: its
headers within ``header_timeout_s`` of the connection (or of the previous response), its
body within ``body_timeout_s`` of the headers. Past that the client gets 408 and the
connection is closed. Headers are also bounded in size, and idle keep-alive connections
are closed after ``keep_alive_s``.

The socket is bound before the server starts (:func:`bind`), so a caller may say "ready"
the moment this returns: connections wait in the backlog until uvicorn accepts them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from typing import Any

import h11
import uvicorn
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)


def _error_response(status: int, reason: str, message: str, kind: str) -> bytes:
    # The service's error shape (photodup.serving.openapi.ErrorBody): clients parse one shape.
    body = json.dumps({"detail": {"error": message, "kind": kind, "items": []}}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"connection: close\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


_TIMEOUT_RESPONSE = _error_response(
    408, "Request Timeout", "the request did not arrive in time", "request_timeout"
)
_HEAD_TOO_LARGE = _error_response(
    431, "Request Header Fields Too Large", "request line and headers too large",
    "headers_too_large",
)  # fmt: skip


class HttpServerSettings(BaseSettings):
    """Limits on slow and idle clients, shared by ``photodup serve``, ``ui`` and ``demo``."""

    model_config = SettingsConfigDict(env_prefix="PHOTODUP_HTTP_", env_file=None, extra="ignore")

    #: Seconds a request's headers may take to arrive.
    header_timeout_s: float = Field(10.0, gt=0)
    #: Seconds a request's body may take to arrive once its headers are in.
    body_timeout_s: float = Field(60.0, gt=0)
    #: Seconds an idle keep-alive connection stays open.
    keep_alive_s: int = Field(5, ge=1)
    #: Bytes of request line and headers at most; more gets 431.
    max_header_bytes: int = Field(16 * 1024, ge=1024)


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on each part of a request still arriving."""

    header_timeout_s = 10.0
    body_timeout_s = 60.0
    max_header_bytes = 16 * 1024

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting_for: str | None = None
        self._head_bytes = 0  # of the request head now arriving
        self._head_tail = b""  # its last 3 bytes: the blank line may span two reads
        super().connection_made(transport)
        self._update_deadline()

    def data_received(self, data: bytes) -> None:
        # h11's own limit only bounds an *incomplete* head, so a head that arrives in one
        # read (up to 256 KiB) would pass: count the head's bytes up to its blank line.
        if self.conn.their_state is h11.IDLE and self._head_too_large(data):
            log.warning("refusing a request head over %d bytes", self.max_header_bytes)
            self._cancel()
            self.transport.write(_HEAD_TOO_LARGE)
            self.transport.close()
            return
        super().data_received(data)

    def _head_too_large(self, data: bytes) -> bool:
        window = self._head_tail + data
        end = window.find(b"\r\n\r\n")
        if end == -1:
            self._head_bytes += len(data)
            self._head_tail = window[-3:]
            return self._head_bytes > self.max_header_bytes
        size = self._head_bytes - len(self._head_tail) + end + 4
        self._head_bytes, self._head_tail = 0, b""  # the next request's head starts afresh
        return size > self.max_header_bytes

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        self._update_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._update_deadline()

    def _cancel(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _update_deadline(self) -> None:
        # What the client still owes us: the next request's headers (IDLE), the body of the
        # current one (SEND_BODY), or nothing (DONE, MUST_CLOSE, CLOSED, ERROR).
        state = self.conn.their_state
        wanted = "headers" if state is h11.IDLE else "body" if state is h11.SEND_BODY else None
        if wanted == self._waiting_for:
            return
        self._cancel()
        self._waiting_for = wanted
        if wanted is not None and not self.transport.is_closing():
            seconds = self.header_timeout_s if wanted == "headers" else self.body_timeout_s
            self._deadline = self.loop.call_later(seconds, self._expired, wanted, seconds)

    def _expired(self, what: str, seconds: float) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        log.warning("closing the connection of %s: request %s not received in %g s",
                    client, what, seconds)  # fmt: skip
        cycle = self.cycle
        if what == "headers" or cycle is None or not cycle.response_started:
            self.transport.write(_TIMEOUT_RESPONSE)
            if cycle is not None and what == "body":
                cycle.response_started = True  # the app's own late reply is dropped
        self.transport.close()  # connection_lost tells a waiting app: http.disconnect


def protocol_class(settings: HttpServerSettings) -> type[H11Protocol]:
    """The h11 protocol with ``settings``' deadlines (uvicorn takes a class, not an object)."""
    return type(
        "DeadlineH11Protocol",
        (DeadlineH11Protocol,),
        {
            "header_timeout_s": settings.header_timeout_s,
            "body_timeout_s": settings.body_timeout_s,
            "max_header_bytes": settings.max_header_bytes,
        },
    )


class ListenError(RuntimeError):
    """The address cannot be listened on (in use, not this machine's, no permission)."""


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free one), ready for uvicorn."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def server_config(
    app: Any, settings: HttpServerSettings | None = None, **options: Any
) -> uvicorn.Config:
    """uvicorn's configuration for ``app`` with the limits above; ``options`` add the rest."""
    settings = settings or HttpServerSettings()
    options.setdefault("log_level", "warning")
    return uvicorn.Config(
        app,
        http=protocol_class(settings),
        h11_max_incomplete_event_size=settings.max_header_bytes,
        timeout_keep_alive=settings.keep_alive_s,
        **options,
    )
