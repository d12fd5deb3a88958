"""Pages: overview, group list, group view; and the scan status the overview polls."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from photodup.finder.journal import recent_actions
from photodup.ui.groups import SORTS
from photodup.ui.security import set_csrf_cookie
from photodup.ui.state import State, UiState

router = APIRouter()


def _render(request: Request, state: UiState, template: str, **context: Any) -> Response:
    """Render with what every page shows: backend, counts, undo, notice, CSRF token."""
    flash = state.take_flash(request.query_params.get("flash"))
    groups = state.groups.all()
    base = {
        "csrf_token": state.csrf_token,
        "backend": state.backends.current,
        "backend_ready": state.backends.is_ready(state.backends.selected, wait_s=1.0),
        "group_count": len(groups),
        "can_undo": state.can_undo(),
        "notice": flash.text if flash else None,
        "notice_kind": flash.kind if flash else None,
        "problems": flash.problems if flash else [],
    }
    response = request.app.state.templates.TemplateResponse(request, template, {**base, **context})
    # No caching: after an action the back button must not show files as still there.
    response.headers["Cache-Control"] = "no-store"
    set_csrf_cookie(response, state.csrf_token)
    return response


def _sort(request: Request) -> str:
    sort = request.query_params.get("sort", "space")
    return sort if sort in SORTS else "space"


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness for container healthchecks: answers as soon as the app serves requests."""
    return {"status": "ok"}


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, state: State) -> Response:
    with state.store.lock:
        info = state.store.overview()
        skipped = state.store.skipped()
        actions = recent_actions(state.store)
    groups = state.groups.all()
    backends = state.backends.states(wait_s=1.0)
    return _render(
        request,
        state,
        "overview.html",
        nav="overview",
        library=str(state.library),
        overview=info,
        last_run=info["latest_run"],
        skipped=skipped,
        reclaimable=sum(g.reclaimable for g in groups),
        scan=state.scan.snapshot(),
        backends=backends,
        selected_backend=state.backends.selected,
        actions=actions,
    )


# Page handlers are plain functions: FastAPI runs them in its thread pool, so grouping, the
# index lock and backend probes never block the event loop.


@router.get("/groups", response_class=HTMLResponse)
def group_list(request: Request, state: State) -> Response:
    sort = _sort(request)
    groups = state.groups.all(sort)
    with state.store.lock:
        info = state.store.overview()
    return _render(
        request,
        state,
        "groups.html",
        nav="groups",
        groups=groups,
        sort=sort,
        overview=info,
        reclaimable=sum(g.reclaimable for g in groups),
    )


@router.get("/groups/{key}", response_class=HTMLResponse)
def group_view(key: str, request: Request, state: State) -> Response:
    sort = _sort(request)
    groups = state.groups.all(sort)
    keys = [g.key for g in groups]
    if key not in keys:
        raise HTTPException(
            404, f"group {key} is not (or no longer) a duplicate group; it may have been resolved"
        )
    i = keys.index(key)
    suffix = f"?sort={sort}"
    return _render(
        request,
        state,
        "group.html",
        nav="groups",
        group=groups[i],
        sort=sort,
        position=i + 1,
        total=len(groups),
        prev_url=f"/groups/{keys[i - 1]}{suffix}" if i > 0 else None,
        next_url=f"/groups/{keys[i + 1]}{suffix}" if i + 1 < len(keys) else None,
    )


@router.get("/api/scan")
def scan_status(state: State) -> JSONResponse:
    return JSONResponse(state.scan.snapshot().as_dict(), headers={"Cache-Control": "no-store"})
