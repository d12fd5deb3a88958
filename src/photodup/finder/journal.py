"""The journal of moves: how a crash mid-action is recovered, and what is in the quarantine.

Each move is a row in ``moves``: ``planned`` when the action is recorded, ``pending`` once the
destination name is claimed (and written to the row) but before the file moves, ``done``
after; undo goes ``restoring`` then ``restored``; ``failed`` rows say why. Because the
claimed name is journalled *before* the move, :func:`recover_pending` can always tell
from the file system which side of the move a crash happened on.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from photodup.finder.filemoves import sha256_file
from photodup.finder.store import Store


def abs_path(library: Path, rel: bytes) -> Path:
    return Path(os.fsdecode(os.path.join(os.fsencode(library), rel)))


def mark_move(store: Store, move_id: int, status: str, **cols: object) -> None:
    sets = ", ".join(f"{k}=?" for k in ("status", "updated_at", *cols))
    with store.transaction() as conn:
        conn.execute(
            f"UPDATE moves SET {sets} WHERE id=?", (status, time.time(), *cols.values(), move_id)
        )


def last_action_id(store: Store) -> int | None:
    row = store.conn.execute(
        "SELECT id FROM actions WHERE undone_at IS NULL ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return None if row is None else int(row["id"])


def _settle(store: Store, r: Any, origin: Path, claimed: Path, forward: bool) -> str:
    """Finish the bookkeeping of one interrupted move from ``origin`` to ``claimed``."""
    before, after = ("done", "failed") if forward else ("restored", "done")
    if origin.exists():
        # The origin is still there: release our claim, or the unfinished or unremoved copy.
        if claimed.is_file() and (
            claimed.stat().st_size == 0 or sha256_file(claimed) == r["sha256"]
        ):
            claimed.unlink()
        mark_move(store, r["id"], after, error="interrupted before the move finished")
        return f"{r['src_display']}: interrupted move rolled back, nothing changed"
    if claimed.is_file() and sha256_file(claimed) == r["sha256"]:
        mark_move(store, r["id"], before)
        return f"{r['src_display']}: interrupted move had finished, now at {claimed}"
    mark_move(store, r["id"], "failed", error="file missing from both places")
    return f"{r['src_display']}: missing from both {origin} and {claimed}"


def recover_pending(store: Store) -> list[str]:
    """Settle moves a crash left half-way; returns one line per move settled.

    ``pending``: journalled with the destination we claimed, then interrupted; the claim
    holds nothing, a partial copy or the whole file. ``restoring``: the same during undo.
    ``planned``: interrupted before anything was claimed.
    """
    notes = []
    with store.lock:
        rows = store.conn.execute(
            "SELECT * FROM moves WHERE status IN ('planned', 'pending', 'restoring')"
        ).fetchall()
    for row in rows:
        src, dst = (
            abs_path(store.library, bytes(row["src_path"])),
            Path(os.fsdecode(row["dst_path"])),
        )
        if row["status"] == "planned":
            mark_move(store, row["id"], "failed", error="interrupted before the move began")
            notes.append(f"{row['src_display']}: interrupted before it moved, nothing changed")
        elif row["status"] == "pending":
            notes.append(_settle(store, row, src, dst, forward=True))
        else:
            notes.append(_settle(store, row, dst, src, forward=False))
    return notes


def recent_actions(store: Store, limit: int = 8) -> list[dict[str, Any]]:
    """The latest actions, newest first, with how many photos each moved and restored."""
    rows = store.conn.execute(
        "SELECT a.id, a.created_at, a.kind, a.group_key, a.keeper_id, a.undone_at,"
        " coalesce(sum(m.sidecar=0 AND m.status IN ('done', 'pending')), 0) AS in_quarantine,"
        " coalesce(sum(m.sidecar=0 AND m.status='restored'), 0) AS restored,"
        " coalesce(sum(m.sidecar=0 AND m.status='failed'), 0) AS failed,"
        " (SELECT display_path FROM photos WHERE id=a.keeper_id) AS keeper_path"
        " FROM actions a LEFT JOIN moves m ON m.action_id=a.id"
        " GROUP BY a.id ORDER BY a.id DESC LIMIT ?",
        (limit,),
    )
    return [dict(r) for r in rows]
