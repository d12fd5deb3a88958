"""The SQLite index: round trips, raw paths, runs, dismissals, WAL and the journal tables."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from photodup.finder.records import PhotoRecord, Skipped
from photodup.finder.store import Store


def record(path: bytes, sha: str = "a" * 64, phash: int = (1 << 64) - 1) -> PhotoRecord:
    return PhotoRecord(
        path=path, size=10, mtime_ns=123, sha256=sha, width=4, height=3, format="JPEG",
        captured_at="2024-05-01T09:30:00", camera_make="Canon", camera_model="EOS 80D",
        orientation=6, phash=phash, dhash=7,
    )  # fmt: skip


def test_photo_round_trip_with_raw_path_and_unsigned_hash(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        assert store.db_path == tmp_path.resolve() / ".photodup" / "index.db"
        pid = store.upsert_photo(record(b"dir/\xff\xfe.jpg"))
        vec = np.linspace(-1, 1, 512, dtype=np.float32)
        store.set_embedding(pid, vec, "ViT-B-32", "none")
        photo = store.get_photo(pid)
        assert photo is not None
        assert photo.path == b"dir/\xff\xfe.jpg" and photo.display_path == "dir/\\xff\\xfe.jpg"
        assert photo.phash == (1 << 64) - 1 and photo.has_embedding
        assert photo.abs_path(tmp_path).name.encode("utf-8", "surrogateescape") == b"\xff\xfe.jpg"
        ids, matrix = store.embeddings("ViT-B-32", "none")
        assert ids.tolist() == [pid] and np.array_equal(matrix[0], vec)
        assert store.embeddings("ViT-B-32", "laion2b_s34b_b79k")[0].size == 0
        # Updating a photo keeps its id and drops its now stale embedding.
        assert store.upsert_photo(record(b"dir/\xff\xfe.jpg", sha="b" * 64)) == pid
        assert not store.get_photo(pid).has_embedding  # type: ignore[union-attr]
        with pytest.raises(ValueError, match="512"):
            store.set_embedding(pid, np.zeros(3), "m", "p")


def test_skipped_photo_leaves_the_photo_list(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        keep = store.upsert_photo(record(b"keep.jpg"))
        store.record_skipped(Skipped(b"bad.jpg", "truncated", "cannot decode", size=5))
        # A photo that turns bad leaves the photo list.
        store.record_skipped(Skipped(b"keep.jpg", "corrupt", "now broken"))
        assert store.get_photo(keep) is None
        assert {s.display_path: s.kind for s in store.skipped()} == {
            "bad.jpg": "truncated", "keep.jpg": "corrupt",
        }  # fmt: skip


def test_runs_dismissals_and_overview(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        first = store.start_run(backend="pytorch", url="http://x", model="m", pretrained="p")
        store.update_run(first, files_seen=3, embedded=2)
        with pytest.raises(ValueError, match="unknown"):
            store.update_run(first, bogus=1)
        second = store.start_run(backend="pytorch", url="http://x", model="m", pretrained="p")
        runs = store.runs()
        assert [r.id for r in runs] == [second, first]
        assert runs[1].state == "interrupted" and runs[1].embedded == 2
        store.finish_run(second, "completed")
        assert store.latest_run().state == "completed"  # type: ignore[union-attr]
        a = store.upsert_photo(record(b"a.jpg", sha="a" * 64))
        b = store.upsert_photo(record(b"b.jpg", sha="b" * 64))
        with pytest.raises(ValueError, match="two distinct"):
            store.dismiss([a])
        d = store.dismiss([a, b])
        assert store.dismiss([b, a]) == d  # same set, same dismissal
        assert store.dismissed_sets() == [frozenset({"a" * 64, "b" * 64})]
        store.undismiss(d)
        assert store.dismissed_sets() == []
        overview = store.overview()
        assert (overview["photos"], overview["embedded"], overview["bytes"]) == (2, 0, 20)


def test_wal_lets_another_connection_read_during_a_write(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        store.upsert_photo(record(b"a.jpg"))
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        with store.transaction():
            store.upsert_photo(record(b"b.jpg"))
            reader = sqlite3.connect(store.db_path, timeout=1)
            assert reader.execute("SELECT count(*) FROM photos").fetchone()[0] == 1
            reader.close()
        # The journal tables the quarantine actions use exist with their columns.
        with store.transaction() as conn:
            action = conn.execute(
                "INSERT INTO actions (created_at, kind, group_key, keeper_id)"
                " VALUES (0, 'resolve', 'k', 1) RETURNING id"
            ).fetchone()["id"]
            conn.execute(
                "INSERT INTO moves (action_id, photo_id, src_path, src_display, dst_path, size,"
                " sha256, sidecar, status, updated_at) VALUES (?, 2, ?, 'b.jpg', ?, 10, 'x', 0,"
                " 'moved', 0)",
                (action, b"b.jpg", b".photodup/quarantine/1/b.jpg"),
            )
        assert store.conn.execute("SELECT count(*) FROM moves").fetchone()[0] == 1
