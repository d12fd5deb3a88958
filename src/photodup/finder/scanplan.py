"""One scan's walk and plan, kept in temporary tables of the index's connection.

The scan's memory must not grow with the library (issue 12, D7): a list of 100,000 found
files, a set of their paths and the index read into a dict cost about 0.7 KB a file. Here the
walk streams into ``temp.walk``; SQLite joins it with the index to pick the files to examine
(``temp.todo``, in path order, each marked when another file to examine has its size), the
pipeline reads that back a chunk at a time, and a complete walk forgets what it did not see.
Temporary tables live in a file SQLite deletes itself (``temp_store=FILE``), behind its page
cache, and vanish with the connection, so a killed scan leaves nothing behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from photodup.finder.store import Store
from photodup.finder.walk import FoundFile, has_image_extension

#: Rows read back from ``temp.todo`` at a time.
CHUNK = 512

_DROP = """
DROP TABLE IF EXISTS temp.walk;
DROP TABLE IF EXISTS temp.todo;
DROP TABLE IF EXISTS temp.keep;
"""

_CREATE = """
CREATE TEMP TABLE walk (
    rel       BLOB PRIMARY KEY,
    size      INTEGER NOT NULL,
    mtime_ns  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TEMP TABLE todo (
    n         INTEGER PRIMARY KEY,   -- path order
    rel       BLOB NOT NULL,
    size      INTEGER NOT NULL,
    mtime_ns  INTEGER NOT NULL,
    twin      INTEGER NOT NULL DEFAULT 0
);
CREATE TEMP TABLE keep (prefix BLOB PRIMARY KEY) WITHOUT ROWID;
"""

# A file needs work unless the index holds it with the same size and mtime, embedded by this
# model and weights, or it was skipped before and has not changed since. IS, not =: a NULL
# (no model yet, a skipped file with no size) must count as different, not as unknown.
_SELECT_TODO = """
INSERT INTO temp.todo (rel, size, mtime_ns)
SELECT w.rel, w.size, w.mtime_ns FROM temp.walk AS w
LEFT JOIN main.photos AS p ON p.path = w.rel
LEFT JOIN main.skipped AS s ON s.path = w.rel
WHERE CASE
    WHEN p.id IS NOT NULL THEN NOT (
        p.size IS w.size AND p.mtime_ns IS w.mtime_ns AND p.embedding IS NOT NULL
        AND p.model IS ? AND p.pretrained IS ?)
    WHEN s.id IS NOT NULL THEN s.size IS NOT w.size OR s.mtime_ns IS NOT w.mtime_ns
    ELSE 1
END
ORDER BY w.rel
"""

_MARK_TWINS = """
UPDATE temp.todo SET twin = 1 WHERE size IN (
    SELECT size FROM temp.todo GROUP BY size HAVING count(*) > 1)
"""

# Not seen by a complete walk, and not under a folder it could not list.
_UNSEEN = """
FROM main.{table} WHERE path NOT IN (SELECT rel FROM temp.walk)
AND NOT EXISTS (SELECT 1 FROM temp.keep AS k
                WHERE substr(main.{table}.path, 1, length(k.prefix)) = k.prefix)
"""


class ScanPlan:
    def __init__(self, store: Store, library: Path) -> None:
        self.store = store
        self.root = os.fsencode(library)
        with store.lock:
            # FILE, whatever SQLite was built with: the walk must not sit in memory.
            store.conn.execute("PRAGMA temp_store=FILE")
            store.conn.executescript(_DROP + _CREATE)

    def record_walk(self, files: Iterable[FoundFile], unreadable_dirs: Iterable[bytes]) -> int:
        """Stream the walk into ``temp.walk``, then the folders it could not list (read once
        the walk is over); returns the number of files seen. Temporary tables only, so no
        lock on the index: the page and the CLI can still write while the walk runs."""
        rows = ((f.rel, f.size, f.mtime_ns) for f in files)
        with self.store.transaction(immediate=False) as conn:
            sql = "INSERT INTO temp.walk (rel, size, mtime_ns) VALUES (?, ?, ?)"
            seen = conn.executemany(sql, rows).rowcount
            folders = [(d,) for d in unreadable_dirs]
            conn.executemany("INSERT OR IGNORE INTO temp.keep (prefix) VALUES (?)", folders)
        return int(seen)

    def select_todo(self, model: str, pretrained: str) -> int:
        """Pick the files that need a worker; returns how many."""
        with self.store.transaction(immediate=False) as conn:
            count = conn.execute(_SELECT_TODO, (model, pretrained)).rowcount
            conn.execute(_MARK_TWINS)
        return int(count)

    def todo(self) -> Iterator[FoundFile]:
        """The files to examine, in path order, read back a chunk at a time."""
        after = 0
        while True:
            with self.store.lock:
                rows = self.store.conn.execute(
                    "SELECT n, rel, size, mtime_ns, twin FROM temp.todo WHERE n > ?"
                    " ORDER BY n LIMIT ?",
                    (after, CHUNK),
                ).fetchall()
            if not rows:
                return
            for n, rel, size, mtime_ns, twin in rows:
                rel = bytes(rel)
                yield FoundFile(
                    rel,
                    os.path.join(self.root, rel),
                    size,
                    mtime_ns,
                    has_image_extension(rel),
                    bool(twin),
                )
                after = n

    def forget_unseen(self) -> int:
        """Forget photos and skipped entries whose file the walk did not see, except under
        folders it could not list; returns the photos forgotten. Run inside the caller's
        ``store.transaction()``, after the pipeline has finished."""
        with self.store.lock:
            conn = self.store.conn
            removed = conn.execute("DELETE " + _UNSEEN.format(table="photos")).rowcount
            conn.execute("DELETE " + _UNSEEN.format(table="skipped"))
        return int(removed)

    def close(self) -> None:
        with self.store.lock:
            self.store.conn.executescript(_DROP)
