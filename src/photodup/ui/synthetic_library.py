"""A library of N duplicate groups of generated images, indexed without a model.

For the page's large-library test and benchmark: embedding 20,000 photos through CLIP
takes about 20 minutes on a CPU, while grouping by hashes needs no embedding. So each image
is written to disk for real, read back, and indexed through the real ``Store`` with its real
SHA-256, pHash and dHash (``imagehash``, as the scan computes them) and no embedding.

The images are designed so that exactly N groups form, whatever the seed:

- Each group has an original, a 64 x 64 PNG whose low-frequency DCT coefficients are set by
  a codeword. pHash compares those 64 coefficients with their median, so it reads the
  codeword back. Codewords are ``u + not(u)`` for ``u`` in the Reed-Muller code RM(2,5)
  (length 32, minimum distance 8): every one has 32 set bits, as a pHash must, and any two
  differ in at least 16 bits.
- Its copies: a byte-identical one (every fifth group is only that, an exact pair), or a
  JPEG re-drawn with 0, 2 or 4 pHash bits flipped by one shared mask, so near pairs stay at
  least 12 bits from every other group, beyond the 10-bit link radius. Every seventh group
  also has a backup copy, making three photos. Names are shuffled, so no order coincides.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image

from photodup.finder.records import PhotoRecord
from photodup.finder.store import Store

_SIDE = 64
#: RM(2,5) generator: the constant row, the five coordinates and their ten pairwise products,
#: evaluated at the 32 points of {0,1}^5 (point 0 first, where only the constant row is 1).
_POINTS = np.array(list(itertools.product((0, 1), repeat=5)))[:, ::-1]
_GEN = np.array(
    [np.ones(32, dtype=np.int64)]
    + [_POINTS[:, i] for i in range(5)]
    + [_POINTS[:, i] & _POINTS[:, j] for i in range(5) for j in range(i + 1, 5)]
)
#: With the constant row always used, bit 0 (the DC coefficient, always above the median)
#: is 1; the other 15 rows number the codewords.
MAX_GROUPS = 2**15
#: Coefficient pairs (k, 32 + k) a near copy flips: one set bit cleared, one clear bit set.
_FLIPS = {0: (), 2: (1,), 4: (1, 2)}
_X = (np.arange(_SIDE) + 0.5) / _SIDE
_BASIS = np.cos(np.pi * np.arange(8)[:, None] * _X[None, :])  # 8 frequencies x 64 pixels


def codeword(n: int) -> np.ndarray:
    """The 64 pHash bits of group ``n`` (row-major over the 8 x 8 lowest frequencies)."""
    message = np.array([1] + [(n >> b) & 1 for b in range(15)], dtype=np.int64)
    u = (message @ _GEN) % 2
    return np.concatenate([u, 1 - u])


def _draw(bits: np.ndarray, magnitudes: np.ndarray, tint: np.ndarray, side: int) -> Image.Image:
    coef = np.where(bits.reshape(8, 8) == 1, 1.0, -1.0) * magnitudes
    coef[0, 0] = 0.0  # the mean brightness comes from the offset below
    pixels = _BASIS.T @ coef @ _BASIS
    pixels = pixels / np.abs(pixels).max() * 90 + 128
    rgb = np.clip(pixels[..., None] + tint, 0, 255).astype(np.uint8)
    img = Image.fromarray(rgb, "RGB")
    return img if side == _SIDE else img.resize((side, side), Image.Resampling.LANCZOS)


def _encode(img: Image.Image, fmt: str, quality: int = 90) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return out.getvalue()


def _write(root: Path, rel: str, data: bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _record(root: Path, rel: str) -> PhotoRecord:
    """What the index stores for the file now on disk, read back from it."""
    path = root / rel
    data = path.read_bytes()
    st = path.stat()
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        fmt, (width, height) = img.format or "unknown", img.size
        phash = int(str(imagehash.phash(img)), 16)
        dhash = int(str(imagehash.dhash(img)), 16)
    return PhotoRecord(
        path=rel.encode(),
        size=len(data),
        mtime_ns=st.st_mtime_ns,
        sha256=hashlib.sha256(data).hexdigest(),
        width=width,
        height=height,
        format=fmt,
        captured_at=None,
        camera_make=None,
        camera_model=None,
        orientation=None,
        phash=phash,
        dhash=dhash,
    )


def _build_chunk(root: Path, names: list[tuple[int, int]], seed: int) -> list[PhotoRecord]:
    """Write groups (number, shuffled name) and return the records of their files."""
    records = []
    for n, name in names:
        rng = np.random.default_rng([seed, n])
        magnitudes = rng.uniform(0.7, 1.0, (8, 8))
        tint = rng.uniform(-25, 25, 3)
        bits = codeword(n)
        album = f"album-{name % 97:02d}"
        original = f"{album}/img-{name:05d}.png"
        data = _encode(_draw(bits, magnitudes, tint, _SIDE), "PNG")
        _write(root, original, data)
        copies = []
        if n % 5 == 0:  # an exact pair
            copies.append((f"copies/{album}/img-{name:05d}.png", data))
        else:
            flipped = bits.copy()
            for k in _FLIPS[int(rng.choice(list(_FLIPS)))]:
                flipped[[k, 32 + k]] ^= 1
            side = int(rng.choice([48, 56, 64]))
            jpeg = _encode(
                _draw(flipped, magnitudes, tint, side), "JPEG", int(rng.integers(60, 96))
            )
            copies.append((f"exports/{album}/img-{name:05d}.jpg", jpeg))
        if n % 7 == 3:
            copies.append((f"backup/{album}/img-{name:05d}.png", data))
        first = _record(root, original)
        records.append(first)
        for rel, content in copies:
            _write(root, rel, content)
            if content == data:  # same bytes, same hashes: only the path and stat differ
                st = (root / rel).stat()
                records.append(replace(first, path=rel.encode(), mtime_ns=st.st_mtime_ns))
            else:
                records.append(_record(root, rel))
    return records


@dataclass(frozen=True)
class BuiltLibrary:
    root: Path
    groups: int
    photos: int
    seconds: float


def build_group_library(
    root: Path, groups: int, *, seed: int = 0, workers: int = 2
) -> BuiltLibrary:
    """Write ``groups`` groups of generated images under ``root`` (empty) and index them."""
    if not 0 < groups <= MAX_GROUPS:
        raise ValueError(f"groups must be from 1 to {MAX_GROUPS}; got {groups}")
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty; the generated library needs a new folder")
    started = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    names = np.random.default_rng(seed).permutation(groups).tolist()
    jobs = list(zip(range(groups), names, strict=True))
    chunks = [jobs[i : i + 500] for i in range(0, len(jobs), 500)]
    with ProcessPoolExecutor(max(1, workers)) as pool:
        futures = [pool.submit(_build_chunk, root, chunk, seed) for chunk in chunks]
        records = [r for f in futures for r in f.result()]
    with Store.open(root) as store, store.transaction():
        for rec in records:
            store.upsert_photo(rec)
    return BuiltLibrary(root, groups, len(records), time.perf_counter() - started)


if __name__ == "__main__":  # python -m photodup.ui.synthetic_library DIR N
    import sys

    built = build_group_library(Path(sys.argv[1]), int(sys.argv[2]), workers=os.cpu_count() or 2)
    print(f"{built.groups} groups, {built.photos} photos in {built.seconds:.1f} s: {built.root}")
