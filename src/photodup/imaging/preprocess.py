"""CLIP preprocessing for OpenCLIP ViT-B-32, identical for every backend.

Bicubic resize of the shorter side to 224, centre crop to 224x224, RGB scaled to [0, 1] and
normalised with the OpenAI mean/std: the same arithmetic as ``open_clip``'s own transform
(torchvision ``Resize``/``CenterCrop`` on a PIL image), without needing torch. The PyTorch
service and the Triton client both call :func:`preprocess`, so both backends see identical
pixels; ``tests/imaging/test_preprocess.py`` compares it with ``open_clip``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from photodup.contract import CLIP_MEAN, CLIP_STD, IMAGE_SIZE
from photodup.imaging.decode import PhotoSource, load_photo

_MEAN = np.asarray(CLIP_MEAN, dtype=np.float32).reshape(3, 1, 1)
_STD = np.asarray(CLIP_STD, dtype=np.float32).reshape(3, 1, 1)


def _resize_shorter_side(img: Image.Image, size: int) -> Image.Image:
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    if short == size:
        return img
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    return img.resize((new_w, new_h), Image.Resampling.BICUBIC)


def _center_crop(img: Image.Image, size: int) -> Image.Image:
    w, h = img.size
    left = round((w - size) / 2.0)
    top = round((h - size) / 2.0)
    return img.crop((left, top, left + size, top + size))


def preprocess(img: Image.Image) -> np.ndarray:
    """Return the model input for one decoded RGB image: float32 [3, 224, 224]."""
    if img.mode != "RGB":
        img = img.convert("RGB")
    img = _center_crop(_resize_shorter_side(img, IMAGE_SIZE), IMAGE_SIZE)
    chw = np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / np.float32(255.0)
    return np.ascontiguousarray((chw - _MEAN) / _STD, dtype=np.float32)


def preprocess_source(
    source: PhotoSource, *, name: str | None = None, draft: bool = True
) -> np.ndarray:
    """Decode a path, bytes or PIL image and preprocess it; raises ImageDecodeError."""
    return preprocess(load_photo(source, name=name, draft=draft))


def preprocess_batch(images: Sequence[Image.Image]) -> np.ndarray:
    """Stack decoded images into a float32 [N, 3, 224, 224] batch."""
    if not images:
        return np.zeros((0, 3, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    return np.stack([preprocess(img) for img in images])
