"""The photos every backend is timed on: a user's folder, or phone-size JPEGs made from real photos.

The default set imitates what a phone library holds: 12 MP (4032x3024, landscape and portrait)
JPEGs at quality 90, each an upscale of one of the real photographs bundled in installed wheels
(``photodup.finder.sources``) with mild sensor-like noise so the encoder cannot exploit the
smoothness of a plain upscale. The set is cached on disk, keyed by its parameters.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from photodup.finder.sources import COLOUR_PHOTOS, load_real_photo
from photodup.imaging import ImageDecodeError, preprocess_source

log = logging.getLogger(__name__)

PHONE_SIZE = (4032, 3024)
JPEG_QUALITY = 90
NOISE_SIGMA = 3.0
_SUFFIXES = {".jpg", ".jpeg", ".png", ".heic", ".heif", ".webp", ".tif", ".tiff", ".bmp"}


@dataclass(frozen=True)
class BenchInputs:
    """Encoded files (what travels on the base64 path) and their CLIP tensors (binary path)."""

    names: list[str]
    files: list[bytes]
    tensors: np.ndarray  # float32 [N, 3, 224, 224], preprocessed once with photodup.imaging
    source: str  # "generated" or the folder they came from
    skipped: list[str]

    def describe(self) -> dict[str, object]:
        sizes = [len(f) for f in self.files]
        return {
            "source": self.source,
            "count": len(self.files),
            "names": self.names,
            "mean_file_bytes": float(np.mean(sizes)),
            "skipped": self.skipped,
        }

    def tensor_batch(self, start: int, size: int) -> np.ndarray:
        """``size`` tensors starting at ``start``, cycling through the set."""
        idx = [(start + k) % len(self.names) for k in range(size)]
        return np.ascontiguousarray(self.tensors[idx])

    def file_batch(self, start: int, size: int) -> list[bytes]:
        return [self.files[(start + k) % len(self.files)] for k in range(size)]


def _phone_photo(name: str, index: int, rng: np.random.Generator) -> bytes:
    img = load_real_photo(name).convert("RGB")
    # Alternate orientations: phones shoot both, and the preprocessing crops differently.
    target = PHONE_SIZE if index % 2 == 0 else PHONE_SIZE[::-1]
    aspect = target[0] / target[1]
    w, h = img.size
    if w / h > aspect:
        crop_w, crop_h = round(h * aspect), h
    else:
        crop_w, crop_h = w, round(w / aspect)
    left, top = (w - crop_w) // 2, (h - crop_h) // 2
    big = img.crop((left, top, left + crop_w, top + crop_h)).resize(
        target, Image.Resampling.BICUBIC
    )
    arr = np.asarray(big, dtype=np.int16)
    noise = rng.normal(0.0, NOISE_SIGMA, size=arr.shape).astype(np.int16)
    noisy = np.clip(arr + noise, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noisy, "RGB").save(buf, "JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()


def generate_phone_set(count: int, cache_dir: Path, *, seed: int = 0) -> list[Path]:
    """Write (or reuse) ``count`` phone-size JPEGs under ``cache_dir``; returns their paths."""
    folder = cache_dir / f"phone-{PHONE_SIZE[0]}x{PHONE_SIZE[1]}-q{JPEG_QUALITY}-s{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        name = COLOUR_PHOTOS[i % len(COLOUR_PHOTOS)]
        path = folder / f"{i:03d}-{name}.jpg"
        if not path.is_file():
            data = _phone_photo(name, i, rng)
            tmp = path.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(path)  # a crash mid-write never leaves a truncated file in the cache
        paths.append(path)
    return paths


def _folder_files(folder: Path, count: int) -> list[Path]:
    if not folder.is_dir():
        raise FileNotFoundError(f"--images {folder}: not a folder")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in _SUFFIXES)
    if not files:
        raise FileNotFoundError(
            f"--images {folder}: no image files ({', '.join(sorted(_SUFFIXES))})"
        )
    return files[:count]


def load_inputs(count: int, cache_dir: Path, images_dir: Path | None = None) -> BenchInputs:
    """Read the bench photos and preprocess each once; undecodable files are skipped and named."""
    paths = _folder_files(images_dir, count) if images_dir else generate_phone_set(count, cache_dir)
    names: list[str] = []
    files: list[bytes] = []
    tensors: list[np.ndarray] = []
    skipped: list[str] = []
    for path in paths:
        data = path.read_bytes()
        try:
            tensor = preprocess_source(data, name=str(path))
        except ImageDecodeError as exc:
            log.warning("skipping %s", exc)
            skipped.append(str(exc))
            continue
        names.append(path.name)
        files.append(data)
        tensors.append(tensor)
    if not tensors:
        raise ValueError(f"none of the {len(paths)} bench photos could be decoded: {skipped[:3]}")
    return BenchInputs(
        names=names,
        files=files,
        tensors=np.stack(tensors).astype(np.float32, copy=False),
        source=str(images_dir) if images_dir else "generated",
        skipped=skipped,
    )
