"""Features and verified pairs in the index, keyed by content (SHA-256), so nothing is
computed twice: not for a byte-identical copy, not on a second ``groups``, not after a
rescan that left a file's content as it was.

Features normally come from the scan's workers (:func:`save_extracted`). Photos indexed
before (schema 1) or whose features failed get them lazily here, from the file; a file gone
or changed since the scan is reported by name and its pairs fall back to their other
signals.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from photodup.finder.records import Photo, to_signed64, to_unsigned64
from photodup.finder.verify.features import (
    FEATURES_VERSION,
    Extracted,
    Features,
    extract,
    pack,
    point_count,
    unpack,
)
from photodup.finder.verify.match import Evidence

log = logging.getLogger(__name__)

#: Bumped when matching or its evidence changes; older cached pairs are then ignored.
VERIFIER_VERSION = 1
_VARIANTS = ("phash_mirror", "phash_r90", "phash_r180", "phash_r270")


def save_extracted(
    conn: sqlite3.Connection, sha256: str, extracted: Extracted | None, error: str | None = None
) -> None:
    """Store (or replace) what was extracted for one content; ``None`` with the reason.

    ``None`` without a reason stores nothing: grouping will try again from the file."""
    if extracted is None and error is None:
        return
    if extracted is None:
        row: tuple[object, ...] = (sha256, FEATURES_VERSION, None, None, None, None, None, error)
    else:
        hashes = [to_signed64(h) for h in extracted.variant_hashes]
        row = (sha256, FEATURES_VERSION, pack(extracted.features), *hashes, None)
    conn.execute("INSERT OR REPLACE INTO features VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)


@dataclass
class NodeFeatures:
    """Features per node (one per distinct content), loaded from the index."""

    blobs: list[bytes | None]
    variants: np.ndarray  # uint64 [n, 4]; rows of zeros where unknown
    has_variants: np.ndarray  # bool [n]
    errors: dict[int, str] = field(default_factory=dict)
    #: points per node (photo + mirror), read from the records' headers: 0 without features
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    _unpacked: dict[int, Features | None] = field(default_factory=dict)

    def get(self, node: int) -> Features | None:
        if node not in self._unpacked:
            blob = self.blobs[node]
            try:
                self._unpacked[node] = unpack(blob) if blob else None
            except ValueError:
                self._unpacked[node] = None
        return self._unpacked[node]


def _lazy(conn: sqlite3.Connection, library: Path, photo: Photo) -> str | None:
    """Compute and store the features of ``photo`` from its file; the error, or None."""
    from photodup.imaging import ImageDecodeError, load_photo

    path = photo.abs_path(library)
    name = photo.display_path
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return f"{name}: file gone since the scan; run photodup scan again"
    except OSError as exc:
        return f"{name}: cannot read file: {exc.strerror or exc}"
    if hashlib.sha256(data).hexdigest() != photo.sha256:
        return f"{name}: file changed since the scan; run photodup scan again"
    try:
        extracted = extract(load_photo(data, name=name))
    except ImageDecodeError as exc:
        return str(exc)
    except Exception as exc:  # one bad photo must never stop grouping
        return f"{name}: cannot compute features: {type(exc).__name__}: {exc}"
    save_extracted(conn, photo.sha256, extracted)
    return None


def load_features(
    conn: sqlite3.Connection,
    library: Path | None,
    reps: Sequence[Photo],
    *,
    lazy_max: int = 5000,
) -> NodeFeatures:
    """Features of each node's representative photo, computing missing ones if ``library``.

    At most ``lazy_max`` are computed here (about 10 ms each, in this process): a larger
    index from before schema 2 is verified only where it has features, with a warning,
    rather than making ``groups`` (or the page) wait for minutes."""
    n = len(reps)
    found: dict[str, sqlite3.Row] = {}
    rows = conn.execute(
        "SELECT sha256, data, error, " + ", ".join(_VARIANTS) + " FROM features WHERE version=?",
        (FEATURES_VERSION,),
    )
    wanted = {p.sha256 for p in reps}
    for row in rows:
        if row["sha256"] in wanted:
            found[row["sha256"]] = row
    missing = [p for p in reps if p.sha256 not in found]
    if len(missing) > lazy_max:
        log.warning(
            "%d photos have no local features (indexed by an older photodup): they are "
            "grouped by their other signals; computing them here is limited to %d "
            "(PHOTODUP_LAZY_FEATURES_MAX)", len(missing), lazy_max,
        )  # fmt: skip
        missing = []
    if missing and library is not None:
        log.info("computing local features of %d photos indexed without them", len(missing))
        conn.execute("BEGIN IMMEDIATE")  # one commit for all, not one per photo
        try:
            for photo in missing:
                error = _lazy(conn, library, photo)
                if error is not None:
                    log.warning("%s (its pairs use the other signals)", error)
                    save_extracted(conn, photo.sha256, None, error)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        for row in conn.execute(
            "SELECT sha256, data, error, " + ", ".join(_VARIANTS) + " FROM features "
            f"WHERE version=? AND sha256 IN ({','.join('?' * len(missing))})",
            (FEATURES_VERSION, *(p.sha256 for p in missing)),
        ):
            found[row["sha256"]] = row
    blobs: list[bytes | None] = []
    variants = np.zeros((n, 4), dtype=np.uint64)
    has = np.zeros(n, dtype=bool)
    errors: dict[int, str] = {}
    for i, p in enumerate(reps):
        row = found.get(p.sha256)
        blobs.append(row["data"] if row is not None else None)
        if row is not None and row["phash_mirror"] is not None:
            variants[i] = [to_unsigned64(row[c]) for c in _VARIANTS]
            has[i] = True
        if row is not None and row["error"]:
            errors[i] = str(row["error"])
    counts = np.array([point_count(b) for b in blobs], dtype=np.int64)
    return NodeFeatures(blobs, variants, has, errors, counts)


def load_verified(conn: sqlite3.Connection) -> dict[tuple[str, str], Evidence]:
    """Every cached pair of the current verifier version, keyed by (sha_a, sha_b), a < b."""
    rows = conn.execute(
        "SELECT sha_a, sha_b, evidence FROM verifications WHERE version=?", (VERIFIER_VERSION,)
    )
    return {(r[0].hex(), r[1].hex()): Evidence.from_text(r[2]) for r in rows}


def save_verified(conn: sqlite3.Connection, items: Iterable[tuple[str, str, Evidence]]) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO verifications VALUES (?, ?, ?, ?)",
        [
            (bytes.fromhex(a), bytes.fromhex(b), VERIFIER_VERSION, ev.to_json())
            for a, b, ev in items
        ],
    )
