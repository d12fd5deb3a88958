"""Safe actions: move duplicates into the quarantine, remember "not duplicates", undo.

Nothing is ever deleted. A resolve moves each non-kept photo (and its sidecars) to
``<library>/.photodup/quarantine/<same relative path>``. Right before acting it checks the
keeper and each photo against the disk (still there, a regular file inside the library with
no symlink on the way, the bytes of the scan); a keeper that fails refuses the whole group.
Each move is a small state machine journalled step by step (see
:mod:`photodup.finder.journal`), under the library's lock (:mod:`photodup.finder.lock`), so
a crash or a second photodup never leaves a photo in neither place. Undo lives in
:mod:`photodup.finder.restore`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from photodup.finder import faultpoint
from photodup.finder.filemoves import (
    Fingerprint,
    claim_destination,
    find_sidecars,
    move_into_claim,
    sha256_file,
    sidecar_owner_names,
)
from photodup.finder.journal import abs_path, last_action_id, mark_move, recover_pending
from photodup.finder.lock import LibraryBusy, hold_library
from photodup.finder.problems import Problem
from photodup.finder.records import Photo, display_path
from photodup.finder.restore import NothingToUndo, UndoResult, undo_action
from photodup.finder.safepath import identity, real_file_problem
from photodup.finder.store import DATA_DIR_NAME, Store

__all__ = [
    "ActionResult",
    "LibraryBusy",
    "Move",
    "NothingToUndo",
    "Problem",
    "UndoResult",
    "dismiss_group",
    "last_action_id",
    "quarantine_root",
    "recover_pending",
    "resolve_group",
    "undo_action",
]


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


@dataclass
class ActionResult:
    action_id: int | None = None
    dry_run: bool = False
    moved: list[Move] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: Members that are hard links of the keeper: the same file, so not moved, not counted.
    same_file: list[Problem] = field(default_factory=list)
    #: The keeper failed its check: nothing of the group moved.
    refused_group: bool = False

    @property
    def bytes_moved(self) -> int:
        return sum(m.size for m in self.moved)


def quarantine_root(store: Store, quarantine_dir: str | Path = "quarantine") -> Path:
    """Where moved photos go; a relative ``quarantine_dir`` lives in ``<library>/.photodup``."""
    return store.library / DATA_DIR_NAME / quarantine_dir


def _rel(library: Path, path: Path) -> bytes:
    return os.fsencode(os.path.relpath(path, library))


def _fingerprint(photo: Photo) -> Fingerprint:
    return Fingerprint(photo.size, photo.mtime_ns, photo.sha256)


def _indexed_in(store: Store, folder: Path) -> set[Path]:
    """Every indexed photo in ``folder``: none of them is ever taken for a sidecar."""
    rel = _rel(store.library, folder)
    prefix = b"" if rel == b"." else rel + b"/"
    # A range on the path index: every path that starts with ``prefix`` ("/" + 1 is "0").
    rows = store.conn.execute(
        "SELECT path FROM photos WHERE path >= ? AND path < ?",
        (prefix, prefix[:-1] + b"0" if prefix else b"\xff" * 8),
    )
    paths = (bytes(r["path"]) for r in rows)
    return {abs_path(store.library, p) for p in paths if b"/" not in p[len(prefix) :]}


def _sidecar_owners(car: Path, indexed: set[Path]) -> set[Path]:
    names = sidecar_owner_names(car)
    return {p for p in indexed if p.name.lower() in names or p.stem.lower() in names}


def plan_resolve(
    store: Store, keeper: Photo, others: list[Photo], quarantine: Path
) -> tuple[list[Move], list[Problem], list[Problem]]:
    """The moves that set aside ``others``; the photos refused; the hard links of the keeper.

    Checks everything against the disk now, not against the scan: a keeper that is gone,
    changed, or not a regular file inside the library refuses the whole group.
    """
    library = store.library
    why = real_file_problem(library, keeper.path, _fingerprint(keeper))
    if why is not None:
        reason = f"keeper {keeper.display_path} {why}: the group is refused, nothing moved"
        return [], [Problem(keeper.display_path, reason + "; scan again first")], []
    keeper_abs = keeper.abs_path(library)
    keeper_id = identity(keeper_abs)
    moving = [p for p in others if p.id != keeper.id]
    moves: list[Move] = []
    problems: list[Problem] = []
    same: list[Problem] = []
    planned: set[Path] = set()
    staying = {keeper_abs}
    checked: list[Photo] = []
    for photo in moving:
        why = real_file_problem(library, photo.path, _fingerprint(photo))
        if why is not None:
            problems.append(Problem(photo.display_path, f"not moved: {why}; scan again first"))
            staying.add(photo.abs_path(library))
        elif identity(photo.abs_path(library)) == keeper_id:
            same.append(Problem(photo.display_path, HARDLINK_NOTE.format(keeper.display_path)))
            staying.add(photo.abs_path(library))
        else:
            checked.append(photo)
    for photo in checked:
        src = photo.abs_path(library)
        moves.append(Move(photo.path, quarantine / os.fsdecode(photo.path), photo.size,
                          photo.sha256, photo.id))  # fmt: skip
        indexed = _indexed_in(store, src.parent)
        for car in find_sidecars(src, exclude=indexed | {keeper_abs}):
            # A sidecar also owned by a photo that stays (the keeper, IMG_1.HEIC beside
            # IMG_1.JPG) stays; one shared by two moved photos moves once.
            if car in planned or _sidecar_owners(car, indexed) & staying:
                continue
            planned.add(car)
            rel = _rel(library, car)
            moves.append(Move(rel, quarantine / os.fsdecode(rel), car.stat().st_size,
                              sha256_file(car), photo.id, sidecar=True))  # fmt: skip
    return moves, problems, same


HARDLINK_NOTE = (
    "not moved: the same file as the keeper {} (a hard link), so moving it would free nothing"
)


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
    """Keep ``keeper``; move ``others`` (and their sidecars) into ``quarantine``.

    Holds the library lock (LibraryBusy when another photodup has it) and settles any
    interrupted move first.
    """
    with hold_library(store.library, "resolve"):
        recover_pending(store)
        moves, problems, same = plan_resolve(store, keeper, others, quarantine)
        result = ActionResult(dry_run=dry_run, problems=problems, same_file=same)
        result.refused_group = bool(problems) and problems[0].path == keeper.display_path
        if dry_run or not moves:
            result.moved = moves if dry_run else []
            return result
        result.action_id, ids = _journal_plan(store, moves, keeper.id, group_key)
        for move_id, move in zip(ids, moves, strict=True):
            done = _move_one(store, move_id, move, keeper, force_copy)
            if isinstance(done, Problem):
                problems.append(done)
            else:
                result.moved.append(done)
        return result


def _journal_plan(
    store: Store, moves: list[Move], keeper_id: int, group_key: str | None
) -> tuple[int, list[int]]:
    with store.transaction() as conn:
        action_id = conn.execute(
            "INSERT INTO actions (created_at, kind, group_key, keeper_id) VALUES (?,?,?,?)"
            " RETURNING id",
            (time.time(), "resolve", group_key, keeper_id),
        ).fetchone()["id"]
        ids = [
            conn.execute(
                "INSERT INTO moves (action_id, photo_id, src_path, src_display, dst_path, size,"
                " sha256, sidecar, status, updated_at) VALUES (?,?,?,?,?,?,?,?,'planned',?)"
                " RETURNING id",
                (action_id, m.photo_id, m.src, m.src_display, os.fsencode(m.dst), m.size,
                 m.sha256, int(m.sidecar), time.time()),
            ).fetchone()["id"]
            for m in moves
        ]  # fmt: skip
    return int(action_id), [int(i) for i in ids]


def _move_one(
    store: Store, move_id: int, move: Move, keeper: Photo, force_copy: bool
) -> Move | Problem:
    """Claim, copy, verify, remove: each step journalled before it is relied upon."""
    src = abs_path(store.library, move.src)
    # Right before acting: the keeper is still there and the file is still the one planned
    # (its bytes were hashed when planning; the copy route hashes them again as it copies).
    why = real_file_problem(store.library, keeper.path, None)
    if why is not None:
        why = f"the keeper {keeper.display_path} {why}"
    else:
        why = real_file_problem(store.library, move.src, None)
        if why is None and src.stat().st_size != move.size:
            why = f"size changed ({move.size} -> {src.stat().st_size} bytes)"
    if why is not None:
        mark_move(store, move_id, "failed", error=why)
        return Problem(move.src_display, f"not moved: {why}")

    def claiming(candidate: Path) -> None:
        mark_move(store, move_id, "claiming", durable=True, dst_path=os.fsencode(candidate))

    try:
        target = claim_destination(move.dst, before=claiming)
        mark_move(store, move_id, "claimed")
        faultpoint.reached("claimed")
        move_into_claim(
            src,
            target,
            expected_sha=move.sha256,
            force_copy=force_copy,
            journal=lambda step: mark_move(store, move_id, step),
        )
    except OSError as exc:
        mark_move(store, move_id, "failed", error=str(exc))
        return Problem(move.src_display, f"not moved: {exc}")
    mark_move(store, move_id, "done")
    return Move(move.src, target, move.size, move.sha256, move.photo_id, move.sidecar)


def dismiss_group(store: Store, photo_ids: list[int], group_key: str | None = None) -> int:
    """Remember "not duplicates" for these photos, as an undoable action; returns its id."""
    dismissal = store.dismiss(photo_ids)
    with store.transaction() as conn:
        row = conn.execute(
            "INSERT INTO actions (created_at, kind, group_key, note) VALUES (?,?,?,?) RETURNING id",
            (time.time(), "dismiss", group_key, str(dismissal)),
        ).fetchone()
    return int(row["id"])
