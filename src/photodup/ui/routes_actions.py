"""State-changing requests: keep one, not duplicates, undo, scan. POST + CSRF token only."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from photodup.finder.actions import (
    LibraryBusy,
    NothingToUndo,
    dismiss_group,
    resolve_group,
    undo_action,
)
from photodup.ui.app import filesize
from photodup.ui.groups import GROUP_SORTS, GroupView
from photodup.ui.inputs import local_path, parse_id
from photodup.ui.paging import ListQuery, http_query
from photodup.ui.security import verified_form
from photodup.ui.state import Flash, State, UiState

router = APIRouter()


def _redirect(
    state: UiState, path: str, flash: Flash | None = None, **params: str
) -> RedirectResponse:
    if flash is not None:
        params["flash"] = state.flash(flash)
    sep = "&" if "?" in path else "?"  # ``path`` may carry the list's order already
    query = f"{sep}{urlencode(params)}" if params else ""
    # 303: the browser follows with a GET, so reloading the result page repeats nothing.
    return RedirectResponse(path + query, status_code=303)


def _list_query(state: UiState, form: Any) -> ListQuery:
    """The list order the form was submitted from (its hidden sort/order/per_page fields)."""
    fields = {k: str(form[k]) for k in ("sort", "order", "per_page") if k in form}
    return http_query(fields, GROUP_SORTS, state.settings.page_size)


def _after_group(state: UiState, position: int, query: ListQuery) -> str:
    """Where to go once a group is dealt with: the group now at the same place, if any."""
    remaining = state.groups.snapshot(fresh=True).items.ordered(query.sort, query.order)
    if not remaining:
        return f"/groups{query.suffix(page=1)}"
    return f"/groups/{remaining[min(position, len(remaining) - 1)].key}{query.suffix(page=1)}"


def _find(state: UiState, key: str, query: ListQuery) -> tuple[GroupView, int] | None:
    """The group, from groups as fresh as the index, and its place in the list's order."""
    snapshot = state.groups.snapshot(fresh=True)
    position = snapshot.items.position(key, query.sort, query.order)
    return None if position is None else (snapshot.by_key[key], position)


@router.post("/groups/{key}/keep")
async def keep(key: str, request: Request, state: State) -> RedirectResponse:
    form = await verified_form(request, state.csrf_token)
    query = _list_query(state, form)
    keeper_id = parse_id(form.get("keeper"))
    if keeper_id is None:
        raise HTTPException(400, "choose the photo to keep (form field keeper: a photo id)")

    def run() -> tuple[Flash, str]:
        with state.action_lock:
            found = _find(state, key, query)
            if found is None:
                raise HTTPException(404, f"group {key} no longer exists; it may be resolved")
            group, position = found
            members = {m.photo.id: m.photo for m in group.members}
            if keeper_id not in members:
                raise HTTPException(400, f"photo {keeper_id} is not in group {key}")
            keeper = members.pop(keeper_id)
            with state.store.lock:
                try:
                    result = resolve_group(
                        state.store,
                        keeper,
                        list(members.values()),
                        quarantine=state.quarantine,
                        group_key=key,
                    )
                except LibraryBusy as exc:
                    return Flash(f"Nothing moved: {exc}.", "error"), f"/groups/{key}"
            state.groups.invalidate()
        if result.refused_group:
            return Flash("Nothing moved:", "error", result.problems), f"/groups/{key}"
        photos = sum(1 for m in result.moved if not m.sidecar)
        text = (
            f"Kept {keeper.display_path}; moved {photos} photo{'s' if photos != 1 else ''}"
            f" ({filesize(result.bytes_moved)}) to the quarantine."
        )
        after = _after_group(state, position, query)
        if result.problems or result.same_file:
            left = "Some files were left in place:"
            problems = result.problems + result.same_file
            return Flash(f"{text} {left}", "warning", problems), after
        return Flash(text, "success"), after

    flash, after = await run_in_threadpool(run)
    return _redirect(state, after, flash)


@router.post("/groups/{key}/dismiss")
async def dismiss(key: str, request: Request, state: State) -> RedirectResponse:
    form = await verified_form(request, state.csrf_token)
    query = _list_query(state, form)

    def run() -> tuple[Flash, str]:
        with state.action_lock:
            found = _find(state, key, query)
            if found is None:
                raise HTTPException(404, f"group {key} no longer exists")
            ids = [m.photo.id for m in found[0].members]
            position = found[1]
            with state.store.lock:
                try:
                    dismiss_group(state.store, ids, group_key=key)
                except ValueError:  # fewer than two distinct contents
                    raise HTTPException(
                        400, f"group {key}: its files are byte-identical, so they are duplicates"
                    ) from None
            state.groups.invalidate()
        text = f"Marked {len(ids)} photos as not duplicates; they will not be grouped again."
        return Flash(text, "success"), _after_group(state, position, query)

    flash, after = await run_in_threadpool(run)
    return _redirect(state, after, flash)


@router.post("/undo")
async def undo(request: Request, state: State) -> RedirectResponse:
    form = await verified_form(request, state.csrf_token)
    # Only our own pages: an open redirect would let a link bounce people elsewhere.
    back = local_path(str(form.get("next", "/")))

    def run() -> Flash:
        with state.action_lock, state.store.lock:
            try:
                result = undo_action(state.store)
            except NothingToUndo as exc:
                return Flash(str(exc), "info")
            except LibraryBusy as exc:
                return Flash(f"Nothing undone: {exc}.", "error")
            finally:
                state.groups.invalidate()
        if result.kind == "dismiss":
            return Flash("Undone: the group is back in the list.", "success")
        text = f"Undone: restored {len(result.restored)} file(s) to their original place."
        if result.unindexed:
            text += f" {result.unindexed} were dropped from the index by a scan since: scan now."
        if result.problems and not result.restored:
            return Flash("Nothing was restored:", "error", result.problems)
        if result.problems:
            return Flash(text + " Some could not be restored:", "warning", result.problems)
        return Flash(text, "success")

    flash = await run_in_threadpool(run)
    if back.startswith("/groups/") and not flash.problems:
        # The page we came from may show a group that changed: back to the list, same order.
        back = "/groups" + "".join(back.partition("?")[1:])
    return _redirect(state, back, flash)


@router.post("/scan")
async def scan(request: Request, state: State) -> RedirectResponse:
    form = await verified_form(request, state.csrf_token)
    try:
        choice = state.backends.select(int(str(form.get("backend", state.backends.selected))))
    except (ValueError, IndexError) as exc:
        raise HTTPException(400, f"unknown backend: {exc}") from None
    if not state.scan.start(choice):
        return _redirect(state, "/", Flash("A scan is already running.", "info"))
    return _redirect(state, "/", Flash(f"Scanning with {choice.label}.", "info"))
