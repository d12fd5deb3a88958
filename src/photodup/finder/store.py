"""The photo index: one SQLite file (WAL) per library, default ``<library>/.photodup/index.db``.

API (everything the scan, grouping, actions and the UI use)::

    store = Store.open(library, db_path=None)   # creates .photodup/ and the schema
    store.library -> Path; store.db_path -> Path; store.conn -> sqlite3.Connection (Row rows)
    with store.transaction(): ...               # BEGIN IMMEDIATE .. COMMIT (ROLLBACK on error)
    with store.transaction(immediate=False): ... # plain BEGIN, for temporary tables only
    # photos (ids are stable while a file keeps its path)
    store.upsert_photo(PhotoRecord) -> int      # insert or update by path; clears its embedding
    store.set_embedding(photo_id, vector, model, pretrained)
    store.get_photo(id) -> Photo | None; store.get_photo_by_path(raw: bytes) -> Photo | None
    store.list_photos() -> list[Photo]          # sorted by display path
    store.embeddings(model=None, pretrained=None) -> (ids int64[N], float32[N, 512])
    store.embedded_shas(size, model, pretrained) -> {sha256}  # reuse, by file size
    store.embedded_copy(sha256, model, pretrained) -> (Photo, vector) | None  # reuse
    store.remove_photos(ids) -> int
    # skipped files
    store.record_skipped(Skipped); store.clear_skipped(raw path); store.skipped() -> list[Skipped]
    # scan runs
    store.start_run(...) -> id; store.update_run(id, **counts); store.finish_run(id, state, error)
    store.latest_run() -> ScanRun | None; store.runs(limit) -> list[ScanRun]
    # "not duplicates"
    store.dismiss(photo_ids) -> int; store.dismissed_sets() -> list[frozenset[sha256]]
    store.undismiss(dismissal_id)
    store.overview() -> dict (photos, embedded, skipped, bytes, latest run)

The scan's walk and plan live in temporary tables of the same connection
(:mod:`photodup.finder.scanplan`).

The journal tables ``actions`` and ``moves`` (see :mod:`photodup.finder.schema`) are used
directly through ``store.conn`` inside ``store.transaction()``.

Concurrency: one writer per index (the scan, or the UI's action handler); readers in other
processes are fine thanks to WAL. Within a process, writes are serialised by ``store.lock``
(the connection may be shared between threads).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from photodup.contract import EMBED_DIM
from photodup.finder.records import (
    Photo,
    PhotoRecord,
    ScanRun,
    Skipped,
    display_path,
    to_signed64,
)
from photodup.finder.schema import connect

__all__ = ["Photo", "PhotoRecord", "ScanRun", "Skipped", "Store"]

#: Name of the per-library folder holding the index and the quarantine.
DATA_DIR_NAME = ".photodup"
_PHOTO_COLUMNS = (
    "id, path, size, mtime_ns, sha256, width, height, format, captured_at, camera_make, "
    "camera_model, orientation, phash, dhash, model, pretrained, scanned_at, "
    "embedding IS NOT NULL AS has_embedding"
)
_RUN_COUNTS = ("files_seen", "unchanged", "embedded", "skipped", "removed")


class Store:
    def __init__(self, library: Path, db_path: Path) -> None:
        self.library = library
        self.db_path = db_path
        self.lock = threading.RLock()
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = connect(str(db_path))

    @classmethod
    def open(cls, library: str | Path, db_path: str | Path | None = None) -> Store:
        root = Path(library).resolve()
        path = Path(db_path) if db_path is not None else root / DATA_DIR_NAME / "index.db"
        return cls(root, path)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self, *, immediate: bool = True) -> Iterator[Any]:
        """One atomic write; IMMEDIATE takes the write lock up front, so no upgrade deadlock.

        ``immediate=False`` is for writes to temporary tables only: a plain BEGIN takes no
        lock on the index."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    # --- photos -----------------------------------------------------------------------

    def upsert_photo(self, rec: PhotoRecord) -> int:
        values = (
            rec.path,
            display_path(rec.path),
            rec.size,
            rec.mtime_ns,
            rec.sha256,
            rec.width,
            rec.height,
            rec.format,
            rec.captured_at,
            rec.camera_make,
            rec.camera_model,
            rec.orientation,
            to_signed64(rec.phash),
            to_signed64(rec.dhash),
            time.time(),
        )
        with self.lock:
            row = self.conn.execute(
                "INSERT INTO photos (path, display_path, size, mtime_ns, sha256, width, height,"
                " format, captured_at, camera_make, camera_model, orientation, phash, dhash,"
                " scanned_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT (path) DO UPDATE SET size=excluded.size,"
                " mtime_ns=excluded.mtime_ns, sha256=excluded.sha256, width=excluded.width,"
                " height=excluded.height, format=excluded.format,"
                " captured_at=excluded.captured_at, camera_make=excluded.camera_make,"
                " camera_model=excluded.camera_model, orientation=excluded.orientation,"
                " phash=excluded.phash, dhash=excluded.dhash, scanned_at=excluded.scanned_at,"
                " embedding=NULL, model=NULL, pretrained=NULL RETURNING id",
                values,
            ).fetchone()
            self.conn.execute("DELETE FROM skipped WHERE path=?", (rec.path,))
        return int(row["id"])

    def set_embedding(self, photo_id: int, vector: np.ndarray, model: str, pretrained: str) -> None:
        vec = np.ascontiguousarray(vector, dtype="<f4").reshape(-1)
        if vec.shape != (EMBED_DIM,):
            raise ValueError(f"photo {photo_id}: embedding has {vec.size} values, not {EMBED_DIM}")
        with self.lock:
            self.conn.execute(
                "UPDATE photos SET embedding=?, model=?, pretrained=? WHERE id=?",
                (vec.tobytes(), model, pretrained, photo_id),
            )

    def get_photo(self, photo_id: int) -> Photo | None:
        row = self.conn.execute(
            f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE id=?", (photo_id,)
        ).fetchone()
        return Photo.from_row(row) if row else None

    def get_photo_by_path(self, raw_path: bytes) -> Photo | None:
        row = self.conn.execute(
            f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE path=?", (raw_path,)
        ).fetchone()
        return Photo.from_row(row) if row else None

    def list_photos(self) -> list[Photo]:
        rows = self.conn.execute(f"SELECT {_PHOTO_COLUMNS} FROM photos ORDER BY display_path, id")
        return [Photo.from_row(r) for r in rows]

    def quarantined_photo_ids(self) -> set[int]:
        """Photos whose file sits in the quarantine (moved, not restored) or is on its way."""
        rows = self.conn.execute(
            "SELECT photo_id FROM moves WHERE status NOT IN ('planned', 'failed', 'restored')"
            " AND sidecar=0 AND photo_id IS NOT NULL"
        )
        return {int(r["photo_id"]) for r in rows}

    def embeddings(
        self, model: str | None = None, pretrained: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Ids and L2-normalised embeddings of embedded photos (optionally of one model)."""
        sql = "SELECT id, embedding FROM photos WHERE embedding IS NOT NULL"
        args: list[str] = []
        if model is not None:
            sql, args = sql + " AND model=?", [*args, model]
        if pretrained is not None:
            sql, args = sql + " AND pretrained=?", [*args, pretrained]
        rows = self.conn.execute(sql + " ORDER BY id", args).fetchall()
        ids = np.fromiter((r["id"] for r in rows), dtype=np.int64, count=len(rows))
        matrix = np.empty((len(rows), EMBED_DIM), dtype=np.float32)
        for i, r in enumerate(rows):
            matrix[i] = np.frombuffer(r["embedding"], dtype="<f4")
        return ids, matrix

    def embedded_shas(self, size: int, model: str, pretrained: str) -> set[str]:
        """SHA-256s of contents of this size embedded by this model (``photos_size`` index)."""
        rows = self.conn.execute(
            "SELECT DISTINCT sha256 FROM photos WHERE size=? AND embedding IS NOT NULL"
            " AND model=? AND pretrained=?",
            (size, model, pretrained),
        )
        return {r["sha256"] for r in rows}

    def embedded_copy(
        self, sha256: str, model: str, pretrained: str
    ) -> tuple[Photo, np.ndarray] | None:
        """A photo with this content and an embedding by this model, and that embedding."""
        row = self.conn.execute(
            f"SELECT {_PHOTO_COLUMNS}, embedding FROM photos WHERE sha256=?"
            " AND embedding IS NOT NULL AND model=? AND pretrained=? ORDER BY id LIMIT 1",
            (sha256, model, pretrained),
        ).fetchone()
        if row is None:
            return None
        return Photo.from_row(row), np.frombuffer(row["embedding"], dtype="<f4").copy()

    def remove_photos(self, ids: Iterable[int]) -> int:
        with self.lock:
            cur = self.conn.executemany("DELETE FROM photos WHERE id=?", [(i,) for i in ids])
            return cur.rowcount

    # --- skipped ----------------------------------------------------------------------

    def record_skipped(self, item: Skipped) -> None:
        with self.lock:
            self.conn.execute(
                "INSERT INTO skipped (path, display_path, size, mtime_ns, kind, reason, run_id,"
                " recorded_at) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (path) DO UPDATE SET"
                " size=excluded.size, mtime_ns=excluded.mtime_ns, kind=excluded.kind,"
                " reason=excluded.reason, run_id=excluded.run_id,"
                " recorded_at=excluded.recorded_at",
                (
                    item.path,
                    item.display_path,
                    item.size,
                    item.mtime_ns,
                    item.kind,
                    item.reason,
                    item.run_id,
                    time.time(),
                ),
            )
            # A file that used to be a photo and is now broken leaves the photo list.
            self.conn.execute("DELETE FROM photos WHERE path=?", (item.path,))

    def clear_skipped(self, raw_path: bytes) -> None:
        with self.lock:
            self.conn.execute("DELETE FROM skipped WHERE path=?", (raw_path,))

    def skipped(self) -> list[Skipped]:
        rows = self.conn.execute("SELECT * FROM skipped ORDER BY kind, display_path")
        return [Skipped.from_row(r) for r in rows]

    # --- scan runs --------------------------------------------------------------------

    def start_run(self, *, backend: str, url: str, model: str, pretrained: str) -> int:
        now = time.time()
        with self.lock:
            # A run still marked running belongs to a scan that was killed: say so.
            self.conn.execute(
                "UPDATE scan_runs SET state='interrupted', finished_at=updated_at,"
                " error=coalesce(error, 'process ended without finishing') WHERE state='running'"
            )
            row = self.conn.execute(
                "INSERT INTO scan_runs (library, pid, state, started_at, updated_at, backend, url,"
                " model, pretrained) VALUES (?,?,?,?,?,?,?,?,?) RETURNING id",
                (
                    str(self.library),
                    os.getpid(),
                    "running",
                    now,
                    now,
                    backend,
                    url,
                    model,
                    pretrained,
                ),
            ).fetchone()
        return int(row["id"])

    def update_run(self, run_id: int, **counts: int) -> None:
        unknown = set(counts) - set(_RUN_COUNTS)
        if unknown:
            raise ValueError(f"unknown scan-run counters {sorted(unknown)}; use {_RUN_COUNTS}")
        sets = ", ".join(f"{k}=?" for k in counts)
        with self.lock:
            self.conn.execute(
                f"UPDATE scan_runs SET {sets}{', ' if sets else ''}updated_at=? WHERE id=?",
                (*counts.values(), time.time(), run_id),
            )

    def finish_run(self, run_id: int, state: str, error: str | None = None) -> None:
        now = time.time()
        with self.lock:
            self.conn.execute(
                "UPDATE scan_runs SET state=?, error=?, finished_at=?, updated_at=? WHERE id=?",
                (state, error, now, now, run_id),
            )

    def runs(self, limit: int = 20) -> list[ScanRun]:
        rows = self.conn.execute("SELECT * FROM scan_runs ORDER BY id DESC LIMIT ?", (limit,))
        return [ScanRun.from_row(r) for r in rows]

    def latest_run(self) -> ScanRun | None:
        found = self.runs(1)
        return found[0] if found else None

    # --- "not duplicates" -------------------------------------------------------------

    def dismiss(self, photo_ids: Iterable[int]) -> int:
        """Remember that these photos are not duplicates of each other (by content hash)."""
        ids = list(photo_ids)
        marks = ",".join("?" * len(ids))
        hashes = sorted(
            {
                r["sha256"]
                for r in self.conn.execute(f"SELECT sha256 FROM photos WHERE id IN ({marks})", ids)
            }
        )
        if len(hashes) < 2:
            raise ValueError(f"photos {ids}: need at least two distinct photos to dismiss")
        key = ",".join(hashes)
        with self.transaction() as conn:
            row = conn.execute(
                "INSERT INTO dismissals (key, created_at) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET created_at=excluded.created_at RETURNING id",
                (key, time.time()),
            ).fetchone()
            conn.executemany(
                "INSERT OR IGNORE INTO dismissal_members (dismissal_id, sha256) VALUES (?, ?)",
                [(row["id"], h) for h in hashes],
            )
        return int(row["id"])

    def dismissed_sets(self) -> list[frozenset[str]]:
        members: dict[int, set[str]] = {}
        for r in self.conn.execute("SELECT dismissal_id, sha256 FROM dismissal_members"):
            members.setdefault(r["dismissal_id"], set()).add(r["sha256"])
        return [frozenset(s) for _, s in sorted(members.items())]

    def undismiss(self, dismissal_id: int) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM dismissals WHERE id=?", (dismissal_id,))

    def overview(self) -> dict[str, Any]:
        row = self.conn.execute(
            "SELECT count(*) AS photos, count(embedding) AS embedded,"
            " coalesce(sum(size), 0) AS bytes FROM photos"
        ).fetchone()
        skipped = self.conn.execute("SELECT count(*) AS n FROM skipped").fetchone()["n"]
        return {
            "library": str(self.library),
            "photos": row["photos"],
            "embedded": row["embedded"],
            "bytes": row["bytes"],
            "skipped": skipped,
            "latest_run": self.latest_run(),
        }
