"""photodup.imaging.preprocess against open_clip's own transform for ViT-B-32."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from PIL import Image

from photodup import contract
from photodup.finder.sources import REAL_PHOTOS, load_real_photo
from photodup.imaging import preprocess, preprocess_batch


@pytest.fixture(scope="module")
def open_clip_preprocess() -> Callable[[Image.Image], Any]:
    import open_clip

    _, _, transform = open_clip.create_model_and_transforms(contract.MODEL_ARCH, pretrained=None)
    return transform


def _max_diff(ours: np.ndarray, theirs: Any) -> float:
    return float(np.abs(ours - theirs.numpy()).max())


@pytest.mark.parametrize("name", sorted(REAL_PHOTOS))
def test_matches_open_clip_on_real_photos(
    name: str, open_clip_preprocess: Callable[[Image.Image], Any]
) -> None:
    img = load_real_photo(name).convert("RGB")
    ours = preprocess(img)
    assert ours.shape == contract.INPUT_SHAPE and ours.dtype == np.float32
    # Same resize, crop and arithmetic: measured exactly 0.0; 1e-5 allows float rounding only.
    assert _max_diff(ours, open_clip_preprocess(img)) <= 1e-5


@pytest.mark.parametrize("size", [(224, 224), (100, 60), (225, 1000), (1001, 224), (3, 500)])
def test_matches_open_clip_on_awkward_sizes(
    size: tuple[int, int], open_clip_preprocess: Callable[[Image.Image], Any]
) -> None:
    rng = np.random.default_rng(sum(size))
    img = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB")
    assert _max_diff(preprocess(img), open_clip_preprocess(img)) <= 1e-5


def test_non_rgb_input_is_converted() -> None:
    grey = load_real_photo("camera")
    assert grey.mode == "L"
    np.testing.assert_array_equal(preprocess(grey), preprocess(grey.convert("RGB")))


def test_batch_shapes() -> None:
    img = load_real_photo("coffee")
    assert preprocess_batch([img, img]).shape == (2, *contract.INPUT_SHAPE)
    assert preprocess_batch([]).shape == (0, *contract.INPUT_SHAPE)
