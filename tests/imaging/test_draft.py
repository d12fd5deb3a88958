"""Draft-mode JPEG decoding: kept only because it does not change the embedding.

Phone-sized (4032x3024) JPEGs made from real photos are decoded with and without draft and
embedded by the real ViT-B-32 (pretrained=none). The issue's rule: cosine >= 0.999 against a
full decode. Figures measured with this test's code are in docs/inference.md.
"""

from __future__ import annotations

import io
import time

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
PHOTOS = ("astronaut", "chelsea", "coffee", "china", "grace_hopper", "motorcycle_left")


@pytest.fixture(scope="module")
def phone_jpegs() -> dict[str, bytes]:
    blobs = {}
    for name in PHOTOS:
        buf = io.BytesIO()
        load_real_photo(name).resize(PHONE, Image.Resampling.BICUBIC).save(buf, "JPEG", quality=90)
        blobs[name] = buf.getvalue()
    return blobs


def _decode_all(blobs: dict[str, bytes], draft: bool) -> tuple[np.ndarray, float, tuple[int, int]]:
    started = time.perf_counter()
    tensors, size = [], (0, 0)
    for name, blob in blobs.items():
        img = load_photo(blob, name=name, draft=draft)
        size = img.size
        tensors.append(preprocess(img))
    return np.stack(tensors), (time.perf_counter() - started) / len(blobs), size


def test_draft_decodes_smaller_but_not_below_the_floor(phone_jpegs: dict[str, bytes]) -> None:
    _, _, full_size = _decode_all(phone_jpegs, draft=False)
    _, _, draft_size = _decode_all(phone_jpegs, draft=True)
    assert full_size == PHONE
    assert min(draft_size) >= DRAFT_MIN_SIDE
    assert draft_size[0] * draft_size[1] < PHONE[0] * PHONE[1] / 4


@pytest.mark.slow
def test_draft_keeps_the_embedding(phone_jpegs: dict[str, bytes]) -> None:
    full, full_s, _ = _decode_all(phone_jpegs, draft=False)
    draft, draft_s, _ = _decode_all(phone_jpegs, draft=True)
    model = load_embedder(contract.MODEL_ARCH, contract.PRETRAINED_NONE).embedder
    with torch.no_grad():
        e_full = model(torch.from_numpy(full)).numpy().astype(np.float64)
        e_draft = model(torch.from_numpy(draft)).numpy().astype(np.float64)
    cosines = (e_full * e_draft).sum(1)
    others = e_full @ e_full.T - 2 * np.eye(len(PHOTOS))
    print(
        f"decode+preprocess {full_s * 1000:.0f} ms full, {draft_s * 1000:.0f} ms draft "
        f"({full_s / draft_s:.1f}x); cosine draft vs full min {cosines.min():.6f}; "
        f"different photos max {others.max():.4f}"
    )
    assert cosines.min() >= 0.999
    # The bar means something only if this model tells different photos apart at that level.
    assert others.max() < 0.999
