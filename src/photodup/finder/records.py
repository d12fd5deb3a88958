"""Typed rows of the photo index: what the scan writes and grouping and the UI read."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

_SIGN_BIT = 1 << 63
_WRAP = 1 << 64


def to_signed64(value: int) -> int:
    """A 64-bit perceptual hash as SQLite stores it (signed)."""
    return value - _WRAP if value >= _SIGN_BIT else value


def to_unsigned64(value: int) -> int:
    return value + _WRAP if value < 0 else value


def display_path(raw: bytes) -> str:
    """A printable form of a raw path; bytes that are not UTF-8 appear as ``\\xNN``."""
    return raw.decode("utf-8", errors="backslashreplace")


@dataclass(frozen=True)
class PhotoRecord:
    """Everything the scan learns about one image file, before it has an id."""

    path: bytes  # relative to the library root, raw file-system bytes
    size: int
    mtime_ns: int
    sha256: str
    width: int  # as displayed, i.e. after the EXIF orientation is applied
    height: int
    format: str  # Pillow's format name: JPEG, PNG, WEBP, GIF, TIFF, BMP, HEIF
    captured_at: str | None  # EXIF DateTimeOriginal as ISO 8601 "YYYY-MM-DDTHH:MM:SS"
    camera_make: str | None
    camera_model: str | None
    orientation: int | None  # EXIF orientation tag 1-8
    phash: int  # unsigned 64-bit imagehash.phash
    dhash: int  # unsigned 64-bit imagehash.dhash

    @property
    def display_path(self) -> str:
        return display_path(self.path)


@dataclass(frozen=True)
class Photo(PhotoRecord):
    """A photo in the index. The embedding itself is read with ``Store.embeddings``."""

    id: int = 0
    model: str | None = None
    pretrained: str | None = None
    has_embedding: bool = False
    scanned_at: float = 0.0

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def has_metadata(self) -> bool:
        return self.captured_at is not None or self.camera_model is not None

    def abs_path(self, library: Path) -> Path:
        """The file's absolute path (round-trips non-UTF-8 names via surrogateescape)."""
        return Path(os.fsdecode(os.path.join(os.fsencode(library), self.path)))

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Photo:
        return cls(
            id=row["id"],
            path=bytes(row["path"]),
            size=row["size"],
            mtime_ns=row["mtime_ns"],
            sha256=row["sha256"],
            width=row["width"],
            height=row["height"],
            format=row["format"],
            captured_at=row["captured_at"],
            camera_make=row["camera_make"],
            camera_model=row["camera_model"],
            orientation=row["orientation"],
            phash=to_unsigned64(row["phash"]),
            dhash=to_unsigned64(row["dhash"]),
            model=row["model"],
            pretrained=row["pretrained"],
            has_embedding=bool(row["has_embedding"]),
            scanned_at=row["scanned_at"],
        )


@dataclass(frozen=True)
class Skipped:
    """A file the scan could not use, and why."""

    path: bytes
    kind: str  # empty, truncated, not_an_image, too_large, unreadable, corrupt, changed
    reason: str
    size: int | None = None
    mtime_ns: int | None = None
    run_id: int | None = None
    recorded_at: float = 0.0

    @property
    def display_path(self) -> str:
        return display_path(self.path)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Skipped:
        return cls(
            path=bytes(row["path"]),
            kind=row["kind"],
            reason=row["reason"],
            size=row["size"],
            mtime_ns=row["mtime_ns"],
            run_id=row["run_id"],
            recorded_at=row["recorded_at"],
        )


@dataclass(frozen=True)
class ScanRun:
    """One ``photodup scan``: its state and running counts (the UI's overview reads these)."""

    id: int
    library: str
    pid: int
    state: str  # running, completed, interrupted, failed
    started_at: float
    updated_at: float
    finished_at: float | None
    backend: str | None
    url: str | None
    model: str | None
    pretrained: str | None
    files_seen: int
    unchanged: int
    embedded: int
    skipped: int
    removed: int
    error: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ScanRun:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})
