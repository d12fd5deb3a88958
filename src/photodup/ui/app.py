"""The review web app: ``create_app(settings)`` builds it; the lifespan owns the index.

Layers: routes (``routes_*.py``, HTTP only) -> :class:`UiState` (the index, the groups,
the scan job, the backends) -> the finder (store, grouping, actions).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import ClientDisconnect

from photodup.finder.settings import FinderSettings, get_finder_settings
from photodup.ui.security import SecurityHeaders
from photodup.ui.settings import UiSettings
from photodup.ui.state import UiState

_HERE = Path(__file__).parent
_SIGNAL_NAMES = {
    "sha256": "identical file",
    "phash": "same picture (pHash)",
    "embedding": "similar content (CLIP)",
    "burst": "burst",
    "verified": "matching points",
    "similar": "similar shot",
}


def filesize(n: int | float | None) -> str:
    if n is None:
        return "—"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # unreachable; keeps mypy content


def ago(ts: float | None) -> str:
    if not ts:
        return ""
    seconds = max(0, int(time.time() - ts))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"


def when(iso: str | None) -> str:
    if not iso:
        return "—"
    try:
        return dt.datetime.fromisoformat(iso).strftime("%d %b %Y %H:%M")
    except ValueError:
        return iso


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(_HERE / "templates"))
    env = templates.env
    env.filters.update(filesize=filesize, ago=ago, when=when)
    env.filters["signal_name"] = lambda s: _SIGNAL_NAMES.get(s, s)
    return templates


def create_app(settings: UiSettings, finder: FinderSettings | None = None) -> FastAPI:
    """The app for ``settings.library``; the index is opened when the app starts."""
    if settings.library is None:
        raise ValueError("no library given: pass --library or set PHOTODUP_UI_LIBRARY")
    finder = finder or get_finder_settings(db_path=settings.db)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = UiState.open(settings, finder)
        app.state.ui = state
        try:
            yield
        finally:
            state.close()

    app = FastAPI(title="photodup", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.host_allowlist())
    # Added last, so it wraps the rest: the Host check's 400 carries the headers too.
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")
    app.state.templates = make_templates()

    from photodup.ui import routes_actions, routes_pages, routes_photos

    app.include_router(routes_pages.router)
    app.include_router(routes_actions.router)
    app.include_router(routes_photos.router)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        # People get a readable page; scripts asking for JSON get JSON.
        if "text/html" in request.headers.get("accept", ""):
            body = (
                "<!doctype html><meta charset=utf-8><title>photodup: error</title>"
                "<link rel=stylesheet href=/static/app.css><main class=content><div class=empty>"
                f"<h2>{exc.status_code}</h2><p>{_escape(str(exc.detail))}</p>"
                "<p><a href=/>Back to the overview</a></p></div></main>"
            )
            return HTMLResponse(body, status_code=exc.status_code)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, exc: ClientDisconnect) -> Response:
        # Gone (or cut off for sending too slowly) before the form arrived: not our error.
        return Response(status_code=408)

    return app


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))
