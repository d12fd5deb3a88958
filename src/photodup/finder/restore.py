"""Undo: put back what an action moved, each file to its exact original path or not at all.

A file goes back only to a real path inside the library: every folder on the way is checked
with ``lstat`` (no symlink, made if missing) right before the claim and again before the file
is placed; a file that cannot go back safely stays in the quarantine, with the reason. The
restore is journalled step by step like the move out (see :mod:`photodup.finder.journal`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from photodup.finder import faultpoint
from photodup.finder.filemoves import claim_destination, move_into_claim, sha256_file
from photodup.finder.journal import abs_path, last_action_id, mark_move, recover_pending
from photodup.finder.lock import hold_library
from photodup.finder.problems import Problem
from photodup.finder.safepath import UnsafePath, check_folders, restore_target
from photodup.finder.store import Store


@dataclass
class UndoResult:
    action_id: int
    kind: str
    restored: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    complete: bool = False
    #: Restored photos the index no longer knows (a scan ran meanwhile): scan to see them.
    unindexed: int = 0


class NothingToUndo(LookupError):
    """There is no action (or no such action) left to undo."""


def undo_action(
    store: Store, action_id: int | None = None, *, force_copy: bool = False
) -> UndoResult:
    """Put back what action ``action_id`` (default: the latest not undone) moved.

    Holds the library lock (LibraryBusy when another photodup has it); settles interrupted
    moves first. ``complete`` is False, with a problem saying why, when anything stays in
    the quarantine or when the action had nothing left to restore.
    """
    with hold_library(store.library, "undo"):
        recover_pending(store)
        return _undo(store, action_id, force_copy)


def _undo(store: Store, action_id: int | None, force_copy: bool) -> UndoResult:
    if action_id is None:
        action_id = last_action_id(store)
        if action_id is None:
            raise NothingToUndo("nothing to undo: no action has been taken (or all are undone)")
    action = store.conn.execute("SELECT * FROM actions WHERE id=?", (action_id,)).fetchone()
    if action is None:
        raise NothingToUndo(f"action {action_id} does not exist (see photodup undo --list)")
    result = UndoResult(action_id, action["kind"])
    if action["undone_at"] is not None:
        raise NothingToUndo(f"action {action_id} was already undone")
    if action["kind"] == "dismiss":
        store.undismiss(int(action["note"]))
    rows = store.conn.execute(
        "SELECT * FROM moves WHERE action_id=? AND status='done' ORDER BY id DESC", (action_id,)
    ).fetchall()
    restored_ids: set[int] = set()
    for row in rows:
        problem = _restore_one(store, row, force_copy)
        if problem is not None:
            result.problems.append(problem)
            continue
        result.restored.append(row["src_display"])
        if row["photo_id"] is not None and not row["sidecar"]:
            restored_ids.add(row["photo_id"])
    if action["kind"] == "resolve" and not rows:
        result.problems.append(_nothing_to_restore(store, action_id))
    result.complete = not result.problems
    # A scan while the photos sat in the quarantine forgot them; say so rather than puzzle.
    result.unindexed = sum(1 for i in restored_ids if store.get_photo(i) is None)
    if result.complete or not rows:
        # Nothing is left in the quarantine for this action: the next undo goes further back.
        with store.transaction() as conn:
            conn.execute("UPDATE actions SET undone_at=? WHERE id=?", (time.time(), action_id))
    return result


def _nothing_to_restore(store: Store, action_id: int) -> Problem:
    counts = dict(
        store.conn.execute(
            "SELECT status, count(*) FROM moves WHERE action_id=? GROUP BY status", (action_id,)
        ).fetchall()
    )
    failed = counts.get("failed", 0)
    detail = (
        f"its {failed} move(s) had been rolled back or refused, so the files never left"
        if failed
        else f"none of its moves is in the quarantine ({counts or 'no moves'})"
    )
    return Problem(f"action {action_id}", f"nothing restored: {detail}")


def _restore_one(store: Store, row: Any, force_copy: bool) -> Problem | None:
    rel = bytes(row["src_path"])
    held = Path(os.fsdecode(row["dst_path"]))
    shown = row["src_display"]
    if not held.is_file() or held.is_symlink():
        return Problem(shown, f"not restored: {held} is missing from the quarantine")
    if row["sha256"] and sha256_file(held) != row["sha256"]:
        return Problem(shown, f"not restored: {held} changed in the quarantine")
    try:
        target = restore_target(store.library, rel)
    except OSError as exc:  # UnsafePath (a symlink on the way), or a folder we cannot make
        return Problem(shown, f"not restored: {exc}; it stays at {held}")

    def claiming(_: Path) -> None:
        mark_move(store, row["id"], "restore_claiming", durable=True)

    try:
        claim_destination(target, exact=True, before=claiming)
    except FileExistsError:
        mark_move(store, row["id"], "done")
        return Problem(shown, f"not restored: the original path is occupied; it stays at {held}")
    except OSError as exc:
        mark_move(store, row["id"], "done")
        return Problem(shown, f"not restored: {exc}; it stays at {held}")
    mark_move(store, row["id"], "restore_claimed")
    faultpoint.reached("restore_claimed")
    try:
        check_folders(store.library, rel)  # nothing swapped for a symlink since the claim
        move_into_claim(
            held,
            target,
            expected_sha=row["sha256"],
            force_copy=force_copy,
            journal=lambda step: mark_move(store, row["id"], f"restore_{step}"),
            point="restore_",
        )
    except OSError as exc:
        if isinstance(exc, UnsafePath):
            _release(target)
        mark_move(store, row["id"], "done")
        return Problem(shown, f"not restored: {exc}; it stays at {held}")
    mark_move(store, row["id"], "restored")
    return None


def _release(target: Path) -> None:
    try:
        if target.stat(follow_symlinks=False).st_size == 0:
            target.unlink()
    except OSError:
        pass


__all__ = ["NothingToUndo", "UndoResult", "abs_path", "undo_action"]
