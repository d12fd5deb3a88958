"""Generated libraries for the scan benchmark, kept on disk between runs.

``build_photo_library``: what a camera roll holds. 12 MP JPEGs (4032x3024, quality 90, with
camera EXIF), phone-sized JPEGs (1600x1200, as messaging apps and exports make them) and a
share of exact copies (a backup folder). Every photo is a distinct crop of a real photograph
from the installed wheels, upscaled, so no two contents are the same.

``build_small_library``: many small distinct JPEGs (96x72), cheap to make by the ten
thousand, for the rescan and the memory-against-library-size figures.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image

from photodup.finder.derive import encode
from photodup.finder.sample import camera_exif
from photodup.finder.sources import COLOUR_PHOTOS, load_real_photo

FULL_SIZE = (4032, 3024)  # 12 MP, 4:3, as most phones shoot
PHONE_SIZE = (1600, 1200)
SMALL_SIZE = (96, 72)
_STAMP = ".library.json"  # hidden: the scan does not see it


def _fresh(root: Path, spec: dict[str, object]) -> bool:
    """True if ``root`` already holds a library built from this spec."""
    try:
        return json.loads((root / _STAMP).read_text()) == spec
    except (OSError, ValueError):
        return False


def _variant(source: Image.Image, index: int, size: tuple[int, int]) -> Image.Image:
    """A distinct 4:3 crop of ``source`` (offset, zoom and mirror depend on ``index``)."""
    w, h = source.size
    zoom = 0.6 + 0.35 * ((index * 7919) % 97) / 96
    cw = min(w, int(w * zoom))
    ch = min(h, int(cw * 3 / 4))
    x = ((index * 104729) % max(1, w - cw + 1)) if w > cw else 0
    y = ((index * 1299709) % max(1, h - ch + 1)) if h > ch else 0
    img = source.crop((x, y, x + cw, y + ch))
    if index % 2:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return img.resize(size, Image.Resampling.BICUBIC)


def build_photo_library(
    root: Path, photos: int = 200, *, full_share: float = 0.25, copy_share: float = 0.10
) -> dict[str, int]:
    """Write (or reuse) the library; returns how many files of each kind it holds."""
    copies = round(photos * copy_share)
    full = round((photos - copies) * full_share)
    phone = photos - copies - full
    spec: dict[str, object] = {"photos": photos, "full": full, "phone": phone, "copies": copies}
    counts = {"full_12mp": full, "phone": phone, "copies": copies}
    if _fresh(root, spec):
        return counts
    shutil.rmtree(root, ignore_errors=True)
    sources = [load_real_photo(name) for name in COLOUR_PHOTOS]
    taken = datetime(2024, 6, 1, 9, 0, 0)
    written: list[Path] = []
    for i in range(full + phone):
        size = FULL_SIZE if i < full else PHONE_SIZE
        img = _variant(sources[i % len(sources)], i, size)
        if i % 5 == 4:
            img = img.transpose(Image.Transpose.ROTATE_90)  # portrait shots
        folder = root / ("camera" if i < full else "phone") / f"{2020 + i % 5}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"IMG_{i:05d}.jpg"
        exif = camera_exif(i, taken + timedelta(minutes=17 * i))
        path.write_bytes(encode(img, "JPEG", quality=90, exif=exif))
        written.append(path)
    for i in range(copies):
        source = written[(i * 7) % len(written)]
        target = root / "backup" / source.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    (root / _STAMP).write_text(json.dumps(spec))
    return counts


def build_small_library(root: Path, count: int) -> int:
    """``count`` distinct small JPEGs in folders of 500; reused if already built."""
    spec: dict[str, object] = {"small": count, "size": list(SMALL_SIZE)}
    if _fresh(root, spec):
        return count
    shutil.rmtree(root, ignore_errors=True)
    rng = np.random.default_rng(20241202)
    base = np.asarray(load_real_photo("astronaut").resize((192, 144)), dtype=np.int16)
    w, h = SMALL_SIZE
    for i in range(count):
        folder = root / f"{i // 500:04d}"
        if i % 500 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        x, y = int(rng.integers(0, 96)), int(rng.integers(0, 72))
        tint = rng.integers(-40, 40, size=3)
        pixels = np.clip(base[y : y + h, x : x + w] + tint, 0, 255).astype(np.uint8)
        pixels[i % h, : (i // h) % w] = 255  # a stripe that makes every file distinct
        (folder / f"s{i:06d}.jpg").write_bytes(encode(Image.fromarray(pixels), "JPEG"))
    (root / _STAMP).write_text(json.dumps(spec))
    return count
