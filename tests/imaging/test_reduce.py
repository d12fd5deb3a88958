"""Reduced-size decode of formats without a draft mode (PNG, WebP, HEIC): a box reduction
by a whole factor right after decoding, kept only because it does not change the embedding.

Same rule as draft-mode JPEG (tests/imaging/test_draft.py): cosine >= 0.999 against the full
image through the real ViT-B-32; the CPU saved is measured in bench/results/scan/report.md.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from photodup import contract
from photodup.finder.sources import load_real_photo
from photodup.imaging import load_photo, preprocess
from photodup.imaging.decode import DRAFT_MIN_SIDE
from photodup.model.openclip import load_embedder

PHONE = (4032, 3024)
PHOTOS = ("astronaut", "chelsea", "coffee", "motorcycle_left")


@pytest.fixture(scope="module")
def large_files() -> dict[tuple[str, str], bytes]:
    from pillow_heif import register_heif_opener

    register_heif_opener()
    blobs = {}
    for name in PHOTOS:
        img = load_real_photo(name).resize(PHONE, Image.Resampling.BICUBIC)
        for fmt in ("PNG", "WEBP", "HEIF"):
            buf = io.BytesIO()
            img.save(buf, fmt, **({"compress_level": 1} if fmt == "PNG" else {}))
            blobs[(name, fmt)] = buf.getvalue()
    return blobs


def test_large_images_are_reduced_but_not_below_the_floor(
    large_files: dict[tuple[str, str], bytes],
) -> None:
    for key, blob in large_files.items():
        full = load_photo(blob, draft=False)
        reduced = load_photo(blob)
        assert full.size == PHONE, key
        assert reduced.size == (PHONE[0] // 6, PHONE[1] // 6), key  # 3024 // 448 = 6
        assert min(reduced.size) >= DRAFT_MIN_SIDE
    # Small images are left alone: a reduction would go below the floor.
    small = io.BytesIO()
    load_real_photo("coffee").save(small, "PNG")
    assert load_photo(small.getvalue()).size == load_real_photo("coffee").size


def test_reduction_keeps_the_embedding(large_files: dict[tuple[str, str], bytes]) -> None:
    full = np.stack([preprocess(load_photo(b, draft=False)) for b in large_files.values()])
    reduced = np.stack([preprocess(load_photo(b)) for b in large_files.values()])
    model = load_embedder(contract.MODEL_ARCH, contract.PRETRAINED_NONE).embedder
    with torch.no_grad():
        e_full = model(torch.from_numpy(full)).numpy().astype(np.float64)
        e_reduced = model(torch.from_numpy(reduced)).numpy().astype(np.float64)
    cosines = (e_full * e_reduced).sum(1)
    assert cosines.min() >= 0.999, cosines
    # The bar means something only if this model tells different photos apart at that level.
    per_photo = e_full[::3]
    others = per_photo @ per_photo.T - 2 * np.eye(len(PHOTOS))
    assert others.max() < 0.999
