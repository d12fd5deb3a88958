"""Pages: overview, group list, group view; and the scan status the overview polls."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from photodup.finder.journal import recent_actions
from photodup.ui.groups import GROUP_SORTS, GroupSnapshot
from photodup.ui.paging import http_query, list_page
from photodup.ui.security import set_csrf_cookie
from photodup.ui.state import State, UiState

router = APIRouter()


def _here(request: Request) -> str:
    """This page's path and query, minus the one-off notice: where undo comes back to."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "flash"]
    return request.url.path + (f"?{urlencode(params)}" if params else "")


def _render(
    request: Request, state: UiState, template: str, snapshot: GroupSnapshot, **context: Any
) -> Response:
    """Render with what every page shows: backend, counts, undo, notice, CSRF token."""
    flash = state.take_flash(request.query_params.get("flash"))
    base = {
        "csrf_token": state.csrf_token,
        "backend": state.backends.current,
        "backend_ready": state.backends.is_ready(state.backends.selected, wait_s=1.0),
        "group_count": snapshot.count,
        "can_undo": state.can_undo(),
        "here": _here(request),
        "notice": flash.text if flash else None,
        "notice_kind": flash.kind if flash else None,
        "problems": flash.problems if flash else [],
    }
    response = request.app.state.templates.TemplateResponse(request, template, {**base, **context})
    # No caching: after an action the back button must not show files as still there.
    response.headers["Cache-Control"] = "no-store"
    set_csrf_cookie(response, state.csrf_token)
    return response


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness for container healthchecks: answers as soon as the app serves requests."""
    return {"status": "ok"}


# Page handlers are plain functions: FastAPI runs them in its thread pool, so grouping, the
# index lock and backend probes never block the event loop.


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, state: State) -> Response:
    with state.store.lock:
        info = state.store.overview()
        skipped = state.store.skipped()
        actions = recent_actions(state.store)
    snapshot = state.groups.snapshot()
    backends = state.backends.states(wait_s=1.0)
    return _render(
        request,
        state,
        "overview.html",
        snapshot,
        nav="overview",
        library=str(state.library),
        overview=info,
        last_run=info["latest_run"],
        skipped=skipped,
        reclaimable=snapshot.reclaimable,
        scan=state.scan.snapshot(),
        backends=backends,
        selected_backend=state.backends.selected,
        actions=actions,
    )


@router.get("/groups", response_class=HTMLResponse)
def group_list(request: Request, state: State) -> Response:
    snapshot = state.groups.snapshot()
    page = list_page(request.query_params, snapshot.items, state.settings.page_size, "/groups")
    photos = None
    if not snapshot.count:  # the empty list says whether anything is indexed at all
        with state.store.lock:
            photos = state.store.overview()["photos"]
    return _render(
        request,
        state,
        "groups.html",
        snapshot,
        nav="groups",
        page=page,
        noun="groups",
        photos_indexed=photos,
        reclaimable=snapshot.reclaimable,
    )


@router.get("/similar", response_class=HTMLResponse)
def similar_list(request: Request, state: State) -> Response:
    """Similar shots (bursts, the same scene again), apart from the duplicates."""
    snapshot = state.groups.snapshot()
    items = snapshot.similar
    assert items is not None
    page = list_page(request.query_params, items, state.settings.page_size, "/similar")
    return _render(request, state, "similar.html", snapshot, nav="similar", page=page, noun="sets")


@router.get("/groups/{key}", response_class=HTMLResponse)
def group_view(key: str, request: Request, state: State) -> Response:
    snapshot = state.groups.snapshot()
    query = http_query(request.query_params, GROUP_SORTS, state.settings.page_size)
    i = snapshot.items.position(key, query.sort, query.order)
    if i is None:
        raise HTTPException(
            404, f"group {key} is not (or no longer) a duplicate group; it may have been resolved"
        )
    ordered = snapshot.items.ordered(query.sort, query.order)
    keep = query.suffix(page=1)  # the group view's links carry the order, not a page
    return _render(
        request,
        state,
        "group.html",
        snapshot,
        nav="groups",
        group=ordered[i],
        query=query,
        position=i + 1,
        total=len(ordered),
        list_url=f"/groups{query.suffix(page=i // query.per_page + 1)}#g-{key}",
        prev_url=f"/groups/{ordered[i - 1].key}{keep}" if i > 0 else None,
        next_url=f"/groups/{ordered[i + 1].key}{keep}" if i + 1 < len(ordered) else None,
    )


@router.get("/api/scan")
def scan_status(state: State) -> JSONResponse:
    return JSONResponse(state.scan.snapshot().as_dict(), headers={"Cache-Control": "no-store"})
