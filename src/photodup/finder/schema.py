"""The SQLite schema of the photo index (``<library>/.photodup/index.db``).

Paths are stored as the raw bytes the file system returned (``os.fsencode``) relative to the
library root, so names that are not valid UTF-8 survive a round trip; ``display_path`` is a
printable rendering for people. Perceptual hashes are 64-bit values stored as signed
integers (SQLite has no unsigned type); the store converts them back.
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 2

_DDL = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS photos (
    id            INTEGER PRIMARY KEY,
    path          BLOB NOT NULL UNIQUE,
    display_path  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    mtime_ns      INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    width         INTEGER NOT NULL,
    height        INTEGER NOT NULL,
    format        TEXT NOT NULL,
    captured_at   TEXT,
    camera_make   TEXT,
    camera_model  TEXT,
    orientation   INTEGER,
    phash         INTEGER NOT NULL,
    dhash         INTEGER NOT NULL,
    embedding     BLOB,
    model         TEXT,
    pretrained    TEXT,
    scanned_at    REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS photos_sha256 ON photos (sha256);
CREATE INDEX IF NOT EXISTS photos_size ON photos (size);  -- copies are looked up by size

CREATE TABLE IF NOT EXISTS skipped (
    id            INTEGER PRIMARY KEY,
    path          BLOB NOT NULL UNIQUE,
    display_path  TEXT NOT NULL,
    size          INTEGER,
    mtime_ns      INTEGER,
    kind          TEXT NOT NULL,
    reason        TEXT NOT NULL,
    run_id        INTEGER,
    recorded_at   REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS scan_runs (
    id            INTEGER PRIMARY KEY,
    library       TEXT NOT NULL,
    pid           INTEGER NOT NULL,
    state         TEXT NOT NULL,
    started_at    REAL NOT NULL,
    updated_at    REAL NOT NULL,
    finished_at   REAL,
    backend       TEXT,
    url           TEXT,
    model         TEXT,
    pretrained    TEXT,
    files_seen    INTEGER NOT NULL DEFAULT 0,
    unchanged     INTEGER NOT NULL DEFAULT 0,
    embedded      INTEGER NOT NULL DEFAULT 0,
    skipped       INTEGER NOT NULL DEFAULT 0,
    removed       INTEGER NOT NULL DEFAULT 0,
    error         TEXT
);

CREATE TABLE IF NOT EXISTS dismissals (
    id            INTEGER PRIMARY KEY,
    key           TEXT NOT NULL UNIQUE,
    created_at    REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS dismissal_members (
    dismissal_id  INTEGER NOT NULL REFERENCES dismissals (id) ON DELETE CASCADE,
    sha256        TEXT NOT NULL,
    PRIMARY KEY (dismissal_id, sha256)
);

CREATE TABLE IF NOT EXISTS actions (
    id            INTEGER PRIMARY KEY,
    created_at    REAL NOT NULL,
    kind          TEXT NOT NULL,
    group_key     TEXT,
    keeper_id     INTEGER,
    undone_at     REAL,
    note          TEXT
);

CREATE TABLE IF NOT EXISTS moves (
    id            INTEGER PRIMARY KEY,
    action_id     INTEGER NOT NULL REFERENCES actions (id),
    photo_id      INTEGER,
    src_path      BLOB NOT NULL,
    src_display   TEXT NOT NULL,
    dst_path      BLOB NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT,
    sidecar       INTEGER NOT NULL DEFAULT 0,
    status        TEXT NOT NULL,
    error         TEXT,
    updated_at    REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS moves_action ON moves (action_id);

-- Version 2: local features once per distinct content, and verified pairs.
CREATE TABLE IF NOT EXISTS features (
    sha256        TEXT PRIMARY KEY,
    version       INTEGER NOT NULL,
    data          BLOB,             -- photodup.finder.verify.features.pack(); NULL: none
    phash_mirror  INTEGER,          -- pHash of the mirrored photo (signed 64 bit) ...
    phash_r90     INTEGER,          -- ... and of the photo turned 90, 180, 270 degrees
    phash_r180    INTEGER,
    phash_r270    INTEGER,
    error         TEXT              -- why there are no features (names the file)
);
CREATE TABLE IF NOT EXISTS verifications (
    sha_a         BLOB NOT NULL,    -- the 32 bytes of the SHA-256, sha_a < sha_b
    sha_b         BLOB NOT NULL,
    version       INTEGER NOT NULL, -- photodup.finder.verify.cache.VERIFIER_VERSION
    evidence      TEXT NOT NULL,    -- JSON of photodup.finder.verify.match.Evidence (short
                                    -- for pairs with few matches)
    PRIMARY KEY (sha_a, sha_b, version)
) WITHOUT ROWID;
"""


def connect(db_path: str, *, timeout_s: float = 30.0) -> sqlite3.Connection:
    """Open (creating if needed) the index with WAL journaling and the schema in place."""
    # check_same_thread=False: the web UI reads from worker threads; Store serialises writes.
    conn = sqlite3.connect(
        db_path, timeout=timeout_s, check_same_thread=False, isolation_level=None
    )
    conn.row_factory = sqlite3.Row
    # WAL lets the UI (another process) read while a scan writes; NORMAL sync is durable
    # across a process kill (only an OS crash could lose the last commit).
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
    conn.executescript(_DDL)
    found = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    if found is None:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )
    elif int(found["value"]) < SCHEMA_VERSION:
        # 1 -> 2 only adds tables, which the DDL above has just created.
        conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))
    elif int(found["value"]) > SCHEMA_VERSION:
        raise RuntimeError(
            f"{db_path}: index schema version {found['value']} is newer than this photodup "
            f"understands ({SCHEMA_VERSION}); upgrade photodup or remove the index to rebuild it"
        )
    return conn
