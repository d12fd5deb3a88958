"""The journal of moves: each step written *before* it is relied upon, and crash recovery.

A move out of the library (resolve) goes ``planned`` -> ``claiming`` (the destination name
is journalled, then created with O_EXCL) -> ``claimed`` -> ``copied`` (a full copy is
fsynced under a temporary name; cross-filesystem only) -> ``verified`` (its SHA-256
matched and it was renamed onto the claim) -> the source is removed -> ``done``. An undo
takes the same steps back: ``restore_claiming`` -> ``restore_claimed`` -> ``restore_copied``
-> ``restore_verified`` -> ``restored``. ``failed`` (resolve) or back to ``done`` (undo)
says a move was rolled back, with the reason in ``error``.

:func:`recover_pending` settles what a crash left half-way, from the journal and the files:
it only ever deletes a file this machinery created itself (a claim, a temporary copy, or a
copy it placed) and only while a verified full copy exists elsewhere. It runs under the
library lock, before anything else is planned, and never while a live peer holds the lock.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from photodup.finder.filemoves import part_path, sha256_file
from photodup.finder.lock import LibraryBusy, hold_library, library_lock
from photodup.finder.store import Store

log = logging.getLogger(__name__)

#: In-flight states and how far each got: 0 claiming, 1 claimed, 2 copied, 3 verified.
#: ``pending`` and ``restoring`` are the claimed states of journals written before 0.2.
FORWARD = {"claiming": 0, "pending": 1, "claimed": 1, "copied": 2, "verified": 3}
BACKWARD = {
    "restore_claiming": 0,
    "restoring": 1,
    "restore_claimed": 1,
    "restore_copied": 2,
    "restore_verified": 3,
}
IN_FLIGHT = ("planned", *FORWARD, *BACKWARD)


def abs_path(library: Path, rel: bytes) -> Path:
    return Path(os.fsdecode(os.path.join(os.fsencode(library), rel)))


def mark_move(
    store: Store, move_id: int, status: str, *, durable: bool = False, **cols: object
) -> None:
    """Write one step of a move.

    The index runs with ``synchronous=NORMAL``: a commit survives a killed process, not a
    power cut. ``durable`` commits with ``FULL`` so the step reaches the disk before the
    file system acts on it (and every step before it with it); the ``claiming`` step, which
    names the destination, is written this way, so the journal always knows where a file
    may be, whatever stopped the machine.
    """
    sets = ", ".join(f"{k}=?" for k in ("status", "updated_at", *cols))
    values = (status, time.time(), *cols.values(), move_id)
    with store.lock:
        if durable:
            store.conn.execute("PRAGMA synchronous=FULL")
        try:
            with store.transaction() as conn:
                conn.execute(f"UPDATE moves SET {sets} WHERE id=?", values)
        finally:
            if durable:
                store.conn.execute("PRAGMA synchronous=NORMAL")


def last_action_id(store: Store) -> int | None:
    row = store.conn.execute(
        "SELECT id FROM actions WHERE undone_at IS NULL ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return None if row is None else int(row["id"])


def _state(path: Path, sha: str | None, size: int) -> str:
    """missing, empty, full (the journalled content) or other (partial or different)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "missing"
    if not os.path.isfile(path) or os.path.islink(path):
        return "other"
    if st.st_size == 0 and size != 0:
        return "empty"
    if st.st_size == size and (sha is None or sha256_file(path) == sha):
        return "full"
    return "other"


def _settle(store: Store, r: Any, origin: Path, target: Path, stage: int, forward: bool) -> str:
    """Finish or roll back one interrupted move from ``origin`` to the claimed ``target``."""
    finished, rolled_back = ("done", "failed") if forward else ("restored", "done")
    shown = r["src_display"]
    o, t = _state(origin, r["sha256"], r["size"]), _state(target, r["sha256"], r["size"])
    part = part_path(target)
    if (o == "full" or t == "full") and os.path.isfile(part) and not os.path.islink(part):
        part.unlink()  # our temporary copy; a verified full copy exists
    # From ``claimed`` on, the journal says the target name is ours. While ``claiming``, only
    # an empty file there can be our claim (the name was free when it was journalled), or
    # the whole file when the origin is gone and no other move holds that name (later steps
    # were lost with the power, not with the process).
    ours = (
        stage >= 1
        or t == "empty"
        or (t == "full" and o == "missing" and (not forward or _unheld(store, r)))
    )
    if o == "full" and t == "full" and ours:
        if stage >= 3:  # the copy was verified: finish by removing the origin
            origin.unlink()
            mark_move(store, r["id"], finished)
            return f"{shown}: interrupted move was verified; finished, now at {target}"
        target.unlink()  # a copy we placed; the origin is whole
        mark_move(store, r["id"], rolled_back, error="interrupted; rolled back")
        return f"{shown}: interrupted move rolled back, nothing changed"
    if t == "full" and o == "missing" and ours:
        mark_move(store, r["id"], finished)
        return f"{shown}: interrupted move had finished, now at {target}"
    if o == "full":
        # ``target`` holds our claim or a partial copy, or is not ours: the origin is whole.
        if t != "missing" and ours:
            target.unlink()
        mark_move(store, r["id"], rolled_back, error="interrupted before the move finished")
        return f"{shown}: interrupted move rolled back, nothing changed"
    if t == "full" and ours:
        # The origin is back with other content (edited?): keep both, the copy is journalled.
        mark_move(store, r["id"], finished, error=f"{origin} now holds a different file")
        return f"{shown}: moved to {target}; {origin} now holds a different file, left alone"
    error = f"no full copy at {origin} ({o}) or {target} ({t}); nothing deleted"
    if os.path.lexists(part):
        error += f"; see {part}"
    mark_move(store, r["id"], "failed", error=error)
    log.error("%s: %s", shown, error)
    return f"{shown}: {error}"


def _unheld(store: Store, r: Any) -> bool:
    """No other move says it has a file at this row's destination."""
    row = store.conn.execute(
        "SELECT count(*) FROM moves WHERE dst_path=? AND id<>? AND status='done'",
        (r["dst_path"], r["id"]),
    ).fetchone()
    return not row[0]


def recover_pending(store: Store) -> list[str]:
    """Settle moves a crash left half-way; returns one line per move settled.

    Takes the library lock (re-entrant within this process); when another live photodup
    holds it, its moves are in flight, not interrupted, and nothing is touched.
    """
    try:
        with hold_library(store.library, "recover"):
            lock = library_lock(store.library)
            if lock.recovered:  # already settled under this hold (resolve --all, per group)
                return []
            notes = _recover(store)
            lock.recovered = True
            return notes
    except LibraryBusy as exc:
        return [f"recovery skipped: {exc}"]


def _recover(store: Store) -> list[str]:
    notes = []
    marks = ",".join("?" * len(IN_FLIGHT))
    with store.lock:
        rows = store.conn.execute(
            f"SELECT * FROM moves WHERE status IN ({marks}) ORDER BY id", IN_FLIGHT
        ).fetchall()
    for row in rows:
        src = abs_path(store.library, bytes(row["src_path"]))
        dst = Path(os.fsdecode(row["dst_path"]))
        status = row["status"]
        if status == "planned":
            mark_move(store, row["id"], "failed", error="interrupted before the move began")
            notes.append(f"{row['src_display']}: interrupted before it moved, nothing changed")
        elif status in FORWARD:
            notes.append(_settle(store, row, src, dst, FORWARD[status], forward=True))
        else:
            notes.append(_settle(store, row, dst, src, BACKWARD[status], forward=False))
    _close_finished_undos(store, {int(r["action_id"]) for r in rows})
    return notes


def _close_finished_undos(store: Store, action_ids: set[int]) -> None:
    """An undo killed after its last file went back is complete: mark its action undone."""
    for action_id in action_ids:
        left = store.conn.execute(
            "SELECT sum(status='restored') AS back, sum(status NOT IN ('restored', 'failed'))"
            " AS out FROM moves WHERE action_id=?",
            (action_id,),
        ).fetchone()
        if left["back"] and not left["out"]:
            with store.transaction() as conn:
                conn.execute(
                    "UPDATE actions SET undone_at=? WHERE id=? AND undone_at IS NULL",
                    (time.time(), action_id),
                )


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
