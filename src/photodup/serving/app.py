"""The app factory: lifespan, error bodies and request metrics around the routes.

Every 4xx/5xx body has the same shape, ``{"detail": {"error": ..., "kind": ..., "items": [...]}}``;
an unexpected exception becomes a 500 with a generic body while the trace goes to the log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

import photodup
from photodup.serving.engine import EmbeddingEngine
from photodup.serving.errors import Category, RequestProblem
from photodup.serving.metrics import ServiceMetrics
from photodup.serving.openapi import with_limits
from photodup.serving.routes import router
from photodup.settings import ServiceSettings, get_service_settings

log = logging.getLogger(__name__)

STATUS_BY_CATEGORY: dict[Category, int] = {
    "invalid": 422,
    "too_large": 413,
    "unsupported_media": 415,
    "unavailable": 503,
}


def _error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse({"detail": {"error": message, "kind": kind, "items": []}}, status)


def _install_error_handlers(app: FastAPI, metrics: ServiceMetrics) -> None:
    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestProblem)
        metrics.errors.labels(exc.kind).inc()
        status = STATUS_BY_CATEGORY[exc.category]
        headers = {"Retry-After": "1"} if status == 503 else None
        return JSONResponse(exc.body(), status, headers=headers)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        metrics.errors.labels("bad_request").inc()
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return _error(422, f"invalid request: {problems}", "bad_request")

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        metrics.errors.labels(kind).inc()
        message = f"{exc.detail}: {request.method} {request.url.path}"
        response = _error(exc.status_code, message, kind)
        response.headers.update(exc.headers or {})  # e.g. 405's Allow (RFC 9110)
        return response

    async def on_gone(request: Request, exc: Exception) -> Response:
        # The client left (or was cut off for sending too slowly, see photodup.webserver)
        # before its request arrived: nobody reads this answer, and it is not our bug.
        metrics.errors.labels("client_disconnected").inc()
        return _error(408, "the client left before its request arrived", "client_disconnected")

    async def on_bug(request: Request, exc: Exception) -> Response:
        # Starlette re-raises after this response, so uvicorn logs the full trace.
        metrics.errors.labels("internal").inc()
        return _error(500, "internal server error; the service log has the details", "internal")

    app.add_exception_handler(RequestProblem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(ClientDisconnect, on_gone)
    app.add_exception_handler(Exception, on_bug)


def _install_request_metrics(app: FastAPI, metrics: ServiceMetrics) -> None:
    known_paths = {getattr(route, "path", "") for route in router.routes}

    @app.middleware("http")
    async def observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        status = 500  # what the client gets when the handler raises something unexpected
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            # Only known paths become labels, so scanners cannot grow the metric without bound.
            endpoint = request.url.path if request.url.path in known_paths else "other"
            metrics.requests.labels(endpoint, str(status)).inc()
            metrics.request_seconds.labels(endpoint).observe(time.perf_counter() - started)


def _schema(app: FastAPI, settings: ServiceSettings) -> dict[str, Any]:
    app.openapi_schema = with_limits(
        get_openapi(title=app.title, version=app.version, routes=app.routes),
        settings.max_batch_size,
    )
    return app.openapi_schema


def create_app(
    settings: ServiceSettings | None = None,
    *,
    on_load_failed: Callable[[BaseException], None] | None = None,
) -> FastAPI:
    """Build the service. The model loads in the background once the app starts; pass
    ``on_load_failed`` to stop the server when the weights cannot be loaded."""
    settings = settings or get_service_settings()
    metrics = ServiceMetrics()
    engine = EmbeddingEngine(settings, metrics, on_load_failed)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine.start_loading()
        try:
            yield
        finally:
            log.info("stopping: finishing queued requests")
            await asyncio.to_thread(engine.stop)

    app = FastAPI(
        title="photodup PyTorch embedding service",
        version=photodup.__version__,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.engine = engine
    app.include_router(router)
    app.openapi = lambda: app.openapi_schema or _schema(app, settings)  # type: ignore[method-assign]
    _install_error_handlers(app, metrics)
    _install_request_metrics(app, metrics)
    return app
