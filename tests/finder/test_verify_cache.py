"""Features and verified pairs in the index: from the scan's workers, lazily from files,
cached by content; files gone or changed since the scan; schema 1 -> 2."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from finder.conftest import finder_settings
from photodup.finder.derive import derive, encode
from photodup.finder.examine import examine
from photodup.finder.grouping import find_grouping
from photodup.finder.schema import SCHEMA_VERSION, connect
from photodup.finder.sources import load_real_photo
from photodup.finder.store import Store
from photodup.finder.verify.cache import save_extracted
from photodup.finder.walk import FoundFile


def _index(root: Path, store: Store, rel: str, *, with_features: bool = True) -> int:
    path = root / rel
    st = path.stat()
    found = FoundFile(rel.encode(), os.fsencode(path), st.st_size, st.st_mtime_ns, True)
    item = examine(found)
    assert item.record is not None
    photo_id = store.upsert_photo(item.record)
    if with_features:  # what the scan does with what its worker extracted
        assert item.extracted is not None
        save_extracted(store.conn, item.record.sha256, item.extracted)
    return photo_id


@pytest.fixture
def library(tmp_path: Path) -> Path:
    img = load_real_photo("coffee").convert("RGB")
    files = {
        "original.jpg": encode(img, "JPEG", quality=95),
        "crop.jpg": derive(img, "crop_05")[0],  # crops beyond ~5 % need the kNN candidates
        "mirror.jpg": derive(img, "flip")[0],
        "tile.jpg": derive(img, "tile_0")[0],
        "grey_wall.png": encode(Image.new("RGB", (300, 200), (120, 120, 120)), "PNG"),
        "grey_wall.jpg": encode(Image.new("RGB", (300, 200), (120, 120, 120)), "JPEG"),
    }
    for rel, data in files.items():
        (tmp_path / rel).write_bytes(data)
    return tmp_path


def _families(store: Store) -> list[set[str]]:
    by_id = {p.id: p.display_path for p in store.list_photos()}
    found = find_grouping(store, finder_settings())
    return sorted(({by_id[p.id] for p in g.members} for g in found.duplicates), key=sorted)


def test_scan_features_group_crops_and_mirrors_and_cache_pairs(library: Path) -> None:
    with Store.open(library) as store:
        for rel in sorted(os.listdir(library)):
            if not rel.startswith("."):
                _index(library, store, rel)
        families = _families(store)
        # The crop and the mirror are verified; the tile shares content but only a quarter;
        # the flat photos have no keypoints and fall back to their equal pHashes.
        assert {"original.jpg", "crop.jpg", "mirror.jpg"} in families
        assert {"grey_wall.png", "grey_wall.jpg"} in families
        assert not any("tile.jpg" in f for f in families)
        rows = store.conn.execute("SELECT COUNT(*) FROM verifications").fetchone()[0]
        assert rows >= 3
        flat = store.conn.execute(
            "SELECT COUNT(*) FROM features WHERE data IS NOT NULL"
        ).fetchone()[0]
        assert flat == 6  # stored even when empty, so nothing is recomputed
        size = store.conn.execute("SELECT MAX(LENGTH(data)) FROM features").fetchone()[0]
        assert size <= 12 * 1024


def test_features_missing_are_computed_from_files_or_reported(
    library: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Store.open(library) as store:
        for rel in ("original.jpg", "crop.jpg", "mirror.jpg"):
            _index(library, store, rel, with_features=rel == "original.jpg")
        # crop.jpg changes and mirror.jpg disappears between the scan and ``groups``.
        (library / "crop.jpg").write_bytes(derive(load_real_photo("coffee"), "crop_15")[0])
        (library / "mirror.jpg").unlink()
        with caplog.at_level(logging.WARNING, logger="photodup.finder.verify.cache"):
            families = _families(store)
        # Without features the pairs fall back to their other signals: the crop's pHash (as
        # indexed) still links it; the mirror had only verification to go by.
        assert families == [{"original.jpg", "crop.jpg"}]
        messages = " ".join(r.getMessage() for r in caplog.records)
        assert "crop.jpg: file changed since the scan" in messages
        assert "mirror.jpg: file gone since the scan" in messages
        errors = dict(store.conn.execute("SELECT sha256, error FROM features").fetchall())
        assert sum(e is not None for e in errors.values()) == 2
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="photodup.finder.verify.cache"):
            _families(store)
        assert not caplog.records  # reported once, remembered in the index


def test_index_scanned_before_features_gets_them_lazily(library: Path) -> None:
    with Store.open(library) as store:
        for rel in ("original.jpg", "crop.jpg", "tile.jpg"):
            _index(library, store, rel, with_features=False)
        assert _families(store) == [{"original.jpg", "crop.jpg"}]
        n = store.conn.execute("SELECT COUNT(*) FROM features WHERE error IS NULL").fetchone()
        assert n[0] == 3


def test_schema_1_index_is_migrated(tmp_path: Path) -> None:
    db = tmp_path / "index.db"
    conn = connect(str(db))
    conn.execute("DROP TABLE features")
    conn.execute("DROP TABLE verifications")
    conn.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    conn.close()
    conn = connect(str(db))
    version = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
    assert int(version) == SCHEMA_VERSION == 2
    conn.execute("SELECT sha256, data FROM features").fetchall()
    conn.execute("SELECT sha_a, sha_b, version, evidence FROM verifications").fetchall()
    conn.close()
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE meta SET value='3' WHERE key='schema_version'")
    with pytest.raises(RuntimeError, match="newer"):
        connect(str(db))


def test_lazy_features_are_bounded(library: Path, caplog: pytest.LogCaptureFixture) -> None:
    with Store.open(library) as store:
        for rel in ("original.jpg", "crop.jpg", "mirror.jpg"):
            _index(library, store, rel, with_features=False)
        by_id = {p.id: p.display_path for p in store.list_photos()}
        with caplog.at_level(logging.WARNING, logger="photodup.finder.verify.cache"):
            found = find_grouping(store, finder_settings(lazy_features_max=2))
        assert "3 photos have no local features" in caplog.text
        assert store.conn.execute("SELECT COUNT(*) FROM features").fetchone()[0] == 0
        # Grouped by the other signals: the 5 % crop by its pHash, the mirror not at all.
        families = [{by_id[p.id] for p in g.members} for g in found.duplicates]
        assert families == [{"original.jpg", "crop.jpg"}]
