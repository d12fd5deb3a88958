"""A library for the fault suite: distinct multi-megabyte photos, copies of them, sidecars."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

from photodup.finder.examine import examine
from photodup.finder.filemoves import sha256_file
from photodup.finder.store import DATA_DIR_NAME, Store
from photodup.finder.walk import walk_library


def build_template(root: Path, *, photos: int = 4, copies: int = 3, side: int = 1000) -> Path:
    """``photos`` noise PNGs of about ``3 * side**2 * 0.7`` bytes, each in ``copies`` folders.

    Noise does not compress, so each file is several megabytes and a cross-filesystem copy
    takes a few chunks: kills land mid-copy. One copy of each has an XMP sidecar.
    """
    rng = np.random.default_rng(12)
    for i in range(photos):
        pixels = rng.integers(0, 256, (side, int(side * 0.7), 3), dtype=np.uint8)
        first = root / "c0" / f"IMG_{i}.png"
        first.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(first, compress_level=1)
        for c in range(1, copies):
            dst = root / f"c{c}" / f"IMG_{i}.png"
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(first, dst)
        (root / f"c{copies - 1}" / f"IMG_{i}.xmp").write_text(f"<x:xmpmeta>photo {i}</x:xmpmeta>")
    return root


def index_library(root: Path) -> None:
    """Index every image the way the scan does (exact groups need no embeddings)."""
    with Store.open(root) as store:
        for found in walk_library(root).files:
            item = examine(found)
            if item.record is not None:
                store.upsert_photo(item.record)


def fresh_copy(template: Path, root: Path) -> Path:
    """A copy of the indexed template (index included) at ``root``."""
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(template, root, copy_function=shutil.copy2)
    return root


def contents(library: Path, quarantine: Path) -> Counter[str]:
    """SHA-256 of every file in the library (outside ``.photodup``) and in the quarantine."""
    found: Counter[str] = Counter()
    for top in (library, quarantine):
        for folder, dirs, files in os.walk(top):
            if top == library:
                dirs[:] = [d for d in dirs if d != DATA_DIR_NAME]
            for name in files:
                path = Path(folder) / name
                if path.is_file() and not path.is_symlink():
                    found[sha256_file(path)] += 1
    return found
