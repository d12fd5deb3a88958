"""GroupIndex: groups computed once per change, seen across processes, throttled during a scan.

A real index on disk written through the real ``Store``; a second ``Store`` on the same file
stands for another process (``photodup scan`` or ``resolve`` in a terminal), as SQLite
sees no difference between the two.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from photodup.finder.records import PhotoRecord
from photodup.finder.store import Store
from photodup.ui.groups import GroupIndex
from ui.helpers import finder_settings


def _photo(store: Store, name: str, sha: str, phash: int) -> int:
    rec = PhotoRecord(name.encode(), 1000, 0, sha, 64, 64, "PNG", None, None, None, None, phash, 0)
    return store.upsert_photo(rec)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path) as s:
        # A near pair (a: pHash 1 bit apart) and a byte-identical pair (b), far apart.
        _photo(s, "a1", "1" * 64, 0)
        _photo(s, "a2", "2" * 64, 1)
        _photo(s, "b1", "b" * 64, 2**64 - 1)
        _photo(s, "b2", "b" * 64, 2**64 - 1)
        yield s


def test_snapshot_is_reused_until_something_changes(store: Store) -> None:
    index = GroupIndex(store, finder_settings())
    first = index.snapshot()
    assert first.count == 2 and first.reclaimable == 2000
    assert index.snapshot() is first and index.snapshot(fresh=True) is first
    index.invalidate()  # what every action on the page does
    second = index.snapshot()
    assert second is not first and second.count == 2
    # "Not duplicates" written by another process: seen on the next request.
    with Store.open(store.library) as other:
        ids = [p.id for p in other.list_photos() if p.display_path.startswith("a")]
        other.dismiss(ids)
    third = index.snapshot()
    assert third is not second and third.count == 1


def test_a_running_scan_regroups_at_most_every_refresh_interval(store: Store) -> None:
    # Long enough that a busy test machine does not pass it between two statements.
    index = GroupIndex(store, finder_settings(), scan_refresh_s=2.0)
    with Store.open(store.library) as scan:  # the scan, in "another process"
        run = scan.start_run(backend="pytorch", url="http://x", model="m", pretrained="none")
        started = index.snapshot()  # a new run: regrouped at once
        assert started.count == 2
        _photo(scan, "c1", "c" * 64, 0x00FF00FF00FF00FF)
        _photo(scan, "c2", "c" * 64, 0x00FF00FF00FF00FF)
        scan.update_run(run, embedded=2)
        # Progress only: pages keep the groups of a moment ago instead of regrouping...
        assert index.snapshot() is started
        # ...but an action asks for fresh groups and gets them.
        fresh = index.snapshot(fresh=True)
        assert fresh is not started and fresh.count == 3
        _photo(scan, "d1", "d" * 64, 0x0F0F0F0F0F0F0F0F)
        _photo(scan, "d2", "d" * 64, 0x0F0F0F0F0F0F0F0F)
        scan.update_run(run, embedded=4)
        assert index.snapshot() is fresh
        time.sleep(max(0.0, fresh.computed_at + 2.1 - time.monotonic()))
        later = index.snapshot()  # the interval has passed
        assert later is not fresh and later.count == 4
        scan.finish_run(run, "completed")
        assert index.snapshot() is not later  # the end of a scan is never throttled
