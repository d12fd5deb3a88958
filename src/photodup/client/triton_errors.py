"""Sort every failure tritonclient can raise, over HTTP or gRPC, into the client's errors.

Retryable (the server is restarting, or died mid-request): :class:`RetryableError`, which the
client retries with backoff and then reports as ``BackendUnavailableError``, the error the scan
waits out (``PHOTODUP_BACKEND_WAIT_S``). Everything else is final: an
:class:`InferenceError` naming the URL, the protocol and what to change. Nothing raw escapes:
``geventhttpclient``'s ``HTTPConnectionClosed``/``HTTPParseError``, socket errors, gRPC status
codes, and the ``ValueError``/``TypeError`` tritonclient raises on answers it cannot read.
"""

from __future__ import annotations

import http.client
import socket
from typing import NoReturn

from photodup.client.errors import InferenceError, RetryableError

#: protocol -> (what it is called, the other protocol, its default port, the other's port)
_PORTS = {"http": ("HTTP", "grpc", 8003, 8004), "grpc": ("gRPC", "http", 8004, 8003)}
_RETRY_WORDS = ("unavailable", "not ready", "connection", "socket closed", "stream removed")


def _wrong_protocol(what: str, url: str, protocol: str, seen: str) -> InferenceError:
    name, other, port, other_port = _PORTS[protocol]
    return InferenceError(
        f"triton backend at {url} ({protocol}) failed {what}: the server there does not speak "
        f"{name} ({seen}). Is this Triton's {_PORTS[other][0]} port? Point "
        f"INFERENCE_SERVICE_URL at Triton's {name} port (default {port}), or set "
        f"INFERENCE_PROTOCOL={other} to use this one (default {other_port})"
    )


def _speaks_http1(url: str, timeout_s: float = 2.0) -> bool:
    """Whether ``host:port`` answers a plain HTTP/1.1 request (Triton's HTTP or metrics port).

    Triton's HTTP server accepts a gRPC connection and closes it, which gRPC reports as a
    "Socket closed" connection failure, the same words as a server that died; asking the port
    directly tells the two apart.
    """
    host, _, port = url.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s) as sock:
            sock.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return sock.recv(5) == b"HTTP/"
    except (OSError, ValueError):
        return False


def _from_server_exception(
    exc: BaseException, what: str, url: str, protocol: str, model: str, timeout_s: float
) -> Exception:
    status = str(getattr(exc, "status", lambda: "")() or "")
    message = str(getattr(exc, "message", lambda: "")() or status or repr(exc))
    lowered = message.lower()
    where = f"triton backend at {url} ({protocol})"
    if "failed parsing http/2" in lowered or "http1" in lowered:
        return _wrong_protocol(what, url, protocol, message)
    connect_closed = "failed to connect" in lowered and "socket closed" in lowered
    if protocol == "grpc" and connect_closed and _speaks_http1(url):
        return _wrong_protocol(what, url, protocol, f"{message}; it answers HTTP/1.1")
    if "errors resolving" in lowered or "lookup failed" in lowered:
        return InferenceError(f"{where}: the host name cannot be resolved ({message})")
    if "DEADLINE_EXCEEDED" in status or "timed out" in lowered or "deadline" in lowered:
        return InferenceError(
            f"{where} gave no answer to {what} within {timeout_s:.0f} s; "
            "raise INFERENCE_TIMEOUT_S or send smaller batches"
        )
    if "UNAVAILABLE" in status or any(word in lowered for word in _RETRY_WORDS):
        return RetryableError(f"{what}: {message}")
    if "unknown model" in lowered or "not found" in lowered:
        return InferenceError(
            f"{where} does not serve model {model!r} ({message}); check TRITON_MODEL_NAME "
            "and that `photodup export` ran"
        )
    return InferenceError(f"{where} failed {what}: {message}")


def translate(
    exc: BaseException, *, what: str, url: str, protocol: str, model: str, timeout_s: float
) -> NoReturn:
    """Raise the client's error for ``exc`` (raised by tritonclient during ``what``)."""
    from geventhttpclient.response import HTTPConnectionClosed
    from tritonclient.utils import InferenceServerException

    where = f"triton backend at {url} ({protocol})"
    error: Exception
    if isinstance(exc, InferenceServerException):
        error = _from_server_exception(exc, what, url, protocol, model, timeout_s)
    elif isinstance(exc, HTTPConnectionClosed):  # the server went away mid-request
        error = RetryableError(f"{what}: connection closed by {url} ({exc})")
    elif isinstance(exc, http.client.HTTPException):  # HTTPParseError: not HTTP/1 at all
        error = _wrong_protocol(what, url, protocol, f"{type(exc).__name__}: {exc}")
    elif isinstance(exc, TimeoutError):
        error = InferenceError(
            f"{where} gave no answer to {what} within {timeout_s:.0f} s; raise "
            "INFERENCE_TIMEOUT_S or send smaller batches"
        )
    elif isinstance(exc, socket.gaierror):
        error = InferenceError(f"{where}: the host name cannot be resolved ({exc})")
    elif isinstance(exc, OSError):  # refused, reset, broken pipe: down or restarting
        error = RetryableError(f"{what}: {type(exc).__name__}: {exc}")
    elif isinstance(exc, (ValueError, TypeError, KeyError)):
        # JSONDecodeError and friends: something answered, but not Triton's API.
        error = InferenceError(
            f"{where} answered {what} with something tritonclient cannot read "
            f"({type(exc).__name__}: {exc}); is {url} a Triton server's "
            f"{protocol.upper()} port?"
        )
    elif type(exc).__module__.startswith(("gevent", "greenlet")):
        # The HTTP client's event loop lost its connection state; a fresh client recovers.
        error = RetryableError(f"{what}: {type(exc).__name__}: {exc}")
    else:
        raise exc
    raise error from exc
