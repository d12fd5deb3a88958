"""Derived copies decode to what they claim; the sample library has its labelled layout."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photodup.finder.derive import DERIVATIONS, NEGATIVES, derive
from photodup.finder.sample import build_sample_library, read_sample_library
from photodup.imaging import load_photo

_FORMATS = {".jpg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".heic": "HEIF"}


@pytest.mark.parametrize("kind", sorted({*DERIVATIONS, *NEGATIVES}))
def test_derivation_makes_a_decodable_copy(
    kind: str, real_photo_images: dict[str, Image.Image]
) -> None:
    original = real_photo_images["coffee"]
    data, ext = derive(original, kind)
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == _FORMATS[ext]
    upright = load_photo(data)
    w, h = original.size
    if kind in ("rotate_pixels", "rotate_90"):
        assert upright.size == (h, w)
    elif kind.startswith(("resize", "crop")) or kind in ("messenger", "mirror_crop", "straighten"):
        assert upright.width < w and upright.height < h
    elif kind in ("border", "screenshot"):
        assert upright.width > w and upright.height > h
    else:
        assert upright.size == (w, h)
    if kind == "messenger":
        assert max(upright.size) == 320
    pixels = np.asarray(original.convert("RGB"), float)
    if kind in ("jpeg_q90", "png", "rotate_exif", "webp", "heic"):
        # Same picture: pixels close to the original (lossy codecs allowed some error).
        diff = np.abs(np.asarray(upright, float) - pixels)
        assert diff.mean() < 6.0, (kind, diff.mean())
    # Each transform really happened: an identity "mirror" or "edit" must fail here.
    turned = {
        "flip": pixels[:, ::-1],
        "rotate_180": pixels[::-1, ::-1],
        "rotate_pixels": np.rot90(pixels, -1),
        "rotate_90": np.rot90(pixels, 1),
    }
    if kind in turned:
        diff = np.abs(np.asarray(upright, float) - turned[kind]).mean()
        assert diff < 6.0, (kind, diff)
    if kind in ("brightness", "colour", "contrast", "grey", "sticker", "text_overlay"):
        diff = np.abs(np.asarray(upright, float) - pixels).mean()
        assert diff > 8.0, (kind, diff)  # an edit changes the pixels (JPEG q90 alone: ~3)


def test_sample_library_layout_and_labels(tmp_path: Path) -> None:
    lib = build_sample_library(
        tmp_path / "lib",
        photos=("chelsea", "motorcycle_left"),
        kinds=("png",),
        distractors=("moon",),
    )
    again = read_sample_library(tmp_path / "lib")
    assert again.files == lib.files
    kinds = {f.path: f.kind for f in lib.files}
    assert kinds == {
        "originals/chelsea.jpg": "original",
        "backup/chelsea.jpg": "exact_copy",
        "copies/png/chelsea.png": "png",
        "originals/motorcycle_left.jpg": "original",
        "backup/motorcycle_left.jpg": "exact_copy",
        "copies/png/motorcycle_left.png": "png",
        "burst/motorcycle_right.jpg": "burst",
        "others/moon.jpg": "original",
        "incoming/empty.jpg": "bad_empty",
        "incoming/truncated.jpg": "bad_truncated",
        "incoming/notes.jpg": "bad_not_an_image",
    }
    for f in lib.files:
        assert (lib.root / f.path).is_file()
    assert (lib.root / "backup/chelsea.jpg").read_bytes() == (
        lib.root / "originals/chelsea.jpg"
    ).read_bytes()
    with Image.open(lib.root / "burst/motorcycle_right.jpg") as img:
        assert img.getexif().get_ifd(0x8769)[0x9003].startswith("20")
