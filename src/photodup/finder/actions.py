"""Safe actions: move duplicates into the quarantine, remember "not duplicates", undo.

Nothing is ever deleted. A resolve moves each non-kept photo (and its sidecars) to
``<library>/.photodup/quarantine/<same relative path>`` after checking it still matches the
index. Every move is journalled in the ``moves`` table *before* it happens (``pending``,
with the exact claimed destination) and marked ``done`` after, so :func:`recover_pending`
can settle what a crash left half-way. Undo puts files back on their original path, never
over a file that has appeared there since.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from photodup.finder.filemoves import (
    Fingerprint,
    changed_since,
    claim_destination,
    find_sidecars,
    move_into_claim,
    sha256_file,
)
from photodup.finder.journal import (
    abs_path,
    last_action_id,
    mark_move,
    recover_pending,
)
from photodup.finder.records import Photo, display_path
from photodup.finder.store import DATA_DIR_NAME, Store


@dataclass(frozen=True)
class Move:
    """One file to move (or that moved): paths relative to the library, raw bytes."""

    src: bytes
    dst: Path
    size: int
    sha256: str
    photo_id: int | None = None
    sidecar: bool = False

    @property
    def src_display(self) -> str:
        return display_path(self.src)


@dataclass(frozen=True)
class Problem:
    """A file that was left where it was, and why."""

    path: str
    reason: str


@dataclass
class ActionResult:
    action_id: int | None = None
    dry_run: bool = False
    moved: list[Move] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def bytes_moved(self) -> int:
        return sum(m.size for m in self.moved)


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


def quarantine_root(store: Store, quarantine_dir: str | Path = "quarantine") -> Path:
    """Where moved photos go; a relative ``quarantine_dir`` lives in ``<library>/.photodup``."""
    return store.library / DATA_DIR_NAME / quarantine_dir


def _rel(library: Path, path: Path) -> bytes:
    return os.fsencode(os.path.relpath(path, library))


def plan_resolve(
    store: Store, keeper: Photo, others: list[Photo], quarantine: Path
) -> tuple[list[Move], list[Problem]]:
    """The moves that set aside ``others``, and the photos refused because they changed."""
    moves: list[Move] = []
    problems: list[Problem] = []
    keeper_sidecars = set(find_sidecars(keeper.abs_path(store.library)))
    planned: set[Path] = set()
    for photo in others:
        if photo.id == keeper.id:
            continue
        src = photo.abs_path(store.library)
        why = changed_since(src, Fingerprint(photo.size, photo.mtime_ns, photo.sha256))
        if why is not None:
            problems.append(Problem(photo.display_path, f"not moved: {why}; scan again first"))
            continue
        moves.append(
            Move(
                photo.path, quarantine / os.fsdecode(photo.path), photo.size, photo.sha256, photo.id
            )
        )
        for car in find_sidecars(src):
            # A sidecar shared by the keeper (same stem, e.g. IMG_1.JPG + IMG_1.HEIC) stays;
            # one shared by two moved photos moves once.
            if car in keeper_sidecars or car in planned:
                continue
            planned.add(car)
            rel = _rel(store.library, car)
            moves.append(
                Move(
                    rel,
                    quarantine / os.fsdecode(rel),
                    car.stat().st_size,
                    sha256_file(car),
                    photo.id,
                    sidecar=True,
                )
            )
    return moves, problems


def resolve_group(
    store: Store,
    keeper: Photo,
    others: list[Photo],
    *,
    quarantine: Path,
    group_key: str | None = None,
    dry_run: bool = False,
    force_copy: bool = False,
) -> ActionResult:
    """Keep ``keeper``; move ``others`` (and their sidecars) into ``quarantine``."""
    recover_pending(store)
    moves, problems = plan_resolve(store, keeper, others, quarantine)
    result = ActionResult(dry_run=dry_run, problems=problems)
    if dry_run or not moves:
        result.moved = moves if dry_run else []
        return result
    with store.transaction() as conn:
        result.action_id = conn.execute(
            "INSERT INTO actions (created_at, kind, group_key, keeper_id) VALUES (?,?,?,?)"
            " RETURNING id",
            (time.time(), "resolve", group_key, keeper.id),
        ).fetchone()["id"]
        ids = [
            conn.execute(
                "INSERT INTO moves (action_id, photo_id, src_path, src_display, dst_path, size,"
                " sha256, sidecar, status, updated_at) VALUES (?,?,?,?,?,?,?,?,'planned',?)"
                " RETURNING id",
                (
                    result.action_id,
                    m.photo_id,
                    m.src,
                    m.src_display,
                    os.fsencode(m.dst),
                    m.size,
                    m.sha256,
                    int(m.sidecar),
                    time.time(),
                ),
            ).fetchone()["id"]
            for m in moves
        ]
    for move_id, move in zip(ids, moves, strict=True):
        src = abs_path(store.library, move.src)
        try:
            target = claim_destination(move.dst)
        except OSError as exc:
            mark_move(store, move_id, "failed", error=str(exc))
            problems.append(Problem(move.src_display, f"not moved: {exc}"))
            continue
        # Journal the exact name claimed before touching the source: recovery needs it.
        mark_move(store, move_id, "pending", dst_path=os.fsencode(target))
        try:
            move_into_claim(src, target, expected_sha=move.sha256, force_copy=force_copy)
        except OSError as exc:
            mark_move(store, move_id, "failed", error=str(exc))
            problems.append(Problem(move.src_display, f"not moved: {exc}"))
            continue
        mark_move(store, move_id, "done")
        result.moved.append(
            Move(move.src, target, move.size, move.sha256, move.photo_id, move.sidecar)
        )
    return result


def dismiss_group(store: Store, photo_ids: list[int], group_key: str | None = None) -> int:
    """Remember "not duplicates" for these photos, as an undoable action; returns its id."""
    dismissal = store.dismiss(photo_ids)
    with store.transaction() as conn:
        row = conn.execute(
            "INSERT INTO actions (created_at, kind, group_key, note) VALUES (?,?,?,?) RETURNING id",
            (time.time(), "dismiss", group_key, str(dismissal)),
        ).fetchone()
    return int(row["id"])


def undo_action(
    store: Store, action_id: int | None = None, *, force_copy: bool = False
) -> UndoResult:
    """Put back what action ``action_id`` (default: the latest not undone) moved."""
    recover_pending(store)
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
        src, dst = (
            abs_path(store.library, bytes(row["src_path"])),
            Path(os.fsdecode(row["dst_path"])),
        )
        shown = row["src_display"]
        if not dst.is_file():
            result.problems.append(
                Problem(shown, f"not restored: {dst} is missing from the quarantine")
            )
            continue
        if row["sha256"] and sha256_file(dst) != row["sha256"]:
            result.problems.append(Problem(shown, f"not restored: {dst} changed in the quarantine"))
            continue
        try:
            target = claim_destination(src, exact=True)
        except FileExistsError:
            result.problems.append(
                Problem(shown, f"not restored: the original path is occupied; it stays at {dst}")
            )
            continue
        mark_move(store, row["id"], "restoring")
        try:
            move_into_claim(dst, target, expected_sha=row["sha256"], force_copy=force_copy)
        except OSError as exc:
            mark_move(store, row["id"], "done")
            result.problems.append(Problem(shown, f"not restored: {exc}"))
            continue
        mark_move(store, row["id"], "restored")
        result.restored.append(shown)
        if row["photo_id"] is not None and not row["sidecar"]:
            restored_ids.add(row["photo_id"])
    result.complete = not result.problems
    # A scan while the photos sat in the quarantine forgot them; say so rather than puzzle.
    result.unindexed = sum(1 for i in restored_ids if store.get_photo(i) is None)
    if result.complete:
        with store.transaction() as conn:
            conn.execute("UPDATE actions SET undone_at=? WHERE id=?", (time.time(), action_id))
    return result
