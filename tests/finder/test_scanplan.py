"""The scan's plan in SQLite's temporary tables: what is examined, in which order, what the
index forgets, and that none of it takes the index's write lock or stays in memory."""

from __future__ import annotations

import os
import sqlite3
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from photodup.finder import scanplan
from photodup.finder.records import PhotoRecord, Skipped
from photodup.finder.scanplan import ScanPlan
from photodup.finder.store import Store
from photodup.finder.walk import FoundFile, iter_library, walk_library

TAG = ("ViT-B-32", "none")


def found(rel: bytes, size: int = 10, mtime_ns: int = 123) -> FoundFile:
    return FoundFile(rel, b"/nowhere/" + rel, size, mtime_ns, True)


def indexed(
    store: Store,
    rel: bytes,
    *,
    size: int = 10,
    mtime_ns: int = 123,
    tag: tuple[str, str] | None = TAG,
) -> int:
    rec = PhotoRecord(
        path=rel, size=size, mtime_ns=mtime_ns, sha256="a" * 64, width=4, height=3,
        format="JPEG", captured_at=None, camera_make=None, camera_model=None,
        orientation=None, phash=1, dhash=2,
    )  # fmt: skip
    pid = store.upsert_photo(rec)
    if tag is not None:
        store.set_embedding(pid, np.ones(512, dtype=np.float32), *tag)
    return pid


def test_todo_is_what_changed_in_path_order(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        indexed(store, b"same.jpg")
        indexed(store, b"touched.jpg")
        indexed(store, b"resized.jpg")
        indexed(store, b"other-model.jpg", tag=("ViT-B-32", "laion2b_s34b_b79k"))
        indexed(store, b"no-embedding.jpg", tag=None)
        store.record_skipped(Skipped(b"bad.jpg", "truncated", "cut short", 10, 123))
        store.record_skipped(Skipped(b"bad-again.jpg", "truncated", "cut short", 10, 123))
        store.record_skipped(Skipped(b"changed.jpg", "changed", "changed while read"))
        plan = ScanPlan(store, tmp_path)
        walk = [
            found(b"z/new.jpg"), found(b"same.jpg"), found(b"touched.jpg", mtime_ns=124),
            found(b"resized.jpg", size=11), found(b"other-model.jpg"),
            found(b"no-embedding.jpg"), found(b"bad.jpg"), found(b"bad-again.jpg", size=12),
            found(b"changed.jpg"), found(b"a/new.jpg"),
        ]  # fmt: skip
        assert plan.record_walk(walk, []) == 10
        assert plan.select_todo(*TAG) == 8
        todo = list(plan.todo())
        assert [f.rel for f in todo] == [
            b"a/new.jpg", b"bad-again.jpg", b"changed.jpg", b"no-embedding.jpg",
            b"other-model.jpg", b"resized.jpg", b"touched.jpg", b"z/new.jpg",
        ]  # fmt: skip
        assert todo[0].abs == os.path.join(os.fsencode(tmp_path), b"a/new.jpg")
        assert all(f.image_extension for f in todo)


def test_twins_are_files_to_examine_that_share_a_size(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        indexed(store, b"indexed.jpg", size=7)  # unchanged: not examined, not a twin
        plan = ScanPlan(store, tmp_path)
        walk = [found(b"a.jpg", 5), found(b"b.jpg", 5), found(b"c.jpg", 6),
                found(b"indexed.jpg", 7), found(b"d.jpg", 7)]  # fmt: skip
        plan.record_walk(walk, [])
        plan.select_todo(*TAG)
        assert {f.rel: f.twin for f in plan.todo()} == {
            b"a.jpg": True, b"b.jpg": True, b"c.jpg": False, b"d.jpg": False,
        }  # fmt: skip


def test_todo_reads_back_in_chunks_without_skipping_or_repeating(tmp_path: Path) -> None:
    count = 3 * scanplan.CHUNK + 7
    with Store.open(tmp_path) as store:
        plan = ScanPlan(store, tmp_path)
        plan.record_walk((found(f"{i:05d}.jpg".encode(), size=i) for i in range(count)), [])
        assert plan.select_todo(*TAG) == count
        rels = [f.rel for f in plan.todo()]
        assert rels == [f"{i:05d}.jpg".encode() for i in range(count)]


def test_forget_unseen_keeps_what_an_unreadable_folder_hides(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        indexed(store, b"keep.jpg")
        indexed(store, b"gone.jpg")
        indexed(store, b"locked/inside.jpg")
        indexed(store, b"lockedout.jpg")  # shares the name's start, not the folder
        store.record_skipped(Skipped(b"bad.jpg", "truncated", "cut short"))
        store.record_skipped(Skipped(b"gone-bad.jpg", "truncated", "cut short"))
        store.record_skipped(Skipped(b"locked/", "unreadable", "cannot list folder"))
        plan = ScanPlan(store, tmp_path)
        plan.record_walk([found(b"keep.jpg"), found(b"bad.jpg")], [b"locked/"])
        with store.transaction():
            assert plan.forget_unseen() == 2
        assert [p.display_path for p in store.list_photos()] == ["keep.jpg", "locked/inside.jpg"]
        assert sorted(s.display_path for s in store.skipped()) == ["bad.jpg", "locked/"]


def test_the_walk_takes_no_write_lock_and_stays_off_the_heap(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    for name in ("a/1.jpg", "a/2.png", "b.txt"):
        (tmp_path / name).write_bytes(b"x")
    with Store.open(tmp_path) as store:
        plan = ScanPlan(store, tmp_path)
        assert store.conn.execute("PRAGMA temp_store").fetchone()[0] == 1  # FILE

        def files() -> Iterator[FoundFile]:
            walk = iter_library(tmp_path, {})
            yield next(walk)
            # Rows of the walk are written: another connection's writer is not blocked.
            other = sqlite3.connect(store.db_path, timeout=0.5, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")
            other.execute("UPDATE meta SET value=value")
            other.execute("COMMIT")
            other.close()
            yield from walk

        assert plan.record_walk(files(), []) == 3
        plan.select_todo(*TAG)
        assert [(f.rel, f.image_extension) for f in plan.todo()] == [
            (b"a/1.jpg", True), (b"a/2.png", True), (b"b.txt", False),
        ]  # fmt: skip
        plan.close()
        tables = store.conn.execute("SELECT name FROM temp.sqlite_master").fetchall()
        assert tables == []


def test_walk_library_is_the_sorted_stream(tmp_path: Path) -> None:
    for name in ("b/2.jpg", "b/1.jpg", "a.jpg", ".hidden/x.jpg"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    unreadable: dict[bytes, str] = {}
    streamed = sorted(f.rel for f in iter_library(tmp_path, unreadable))
    assert streamed == [f.rel for f in walk_library(tmp_path).files]
    assert streamed == [b"a.jpg", b"b/1.jpg", b"b/2.jpg"] and unreadable == {}


def _plan_peak(library: Path) -> int:
    """Most Python memory alive while a plan walks ``library`` and reads its todo back."""
    with Store.open(library) as store:
        tracemalloc.start()
        try:
            plan = ScanPlan(store, library)
            plan.record_walk(iter_library(library, {}), [])
            plan.select_todo(*TAG)
            for _ in plan.todo():
                pass
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


def test_planning_memory_does_not_grow_with_the_library(tmp_path: Path) -> None:
    # A list of found files costs about 300 bytes each in Python (31 MiB for 100,000): ten
    # times the files must not mean ten times the memory.
    small, large = tmp_path / "small", tmp_path / "large"
    for root, count in ((small, 1_000), (large, 10_000)):
        for i in range(count):
            folder = root / f"{i // 500:03d}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"IMG_{i:05d}.jpg").write_bytes(b"")
    _plan_peak(small)  # imports and caches
    growth = _plan_peak(large) - _plan_peak(small)
    assert growth < 300_000, f"planning 9,000 more files held {growth:,} more bytes"
