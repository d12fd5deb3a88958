"""CLIP preprocessing for OpenCLIP ViT-B-32, identical for every backend.

Bicubic resize of the shorter side to 224, centre crop to 224x224, RGB scaled to [0, 1] and
normalised with the OpenAI mean/std: the same arithmetic as ``open_clip``'s own transform
(torchvision ``Resize``/``CenterCrop`` on a PIL image), without needing torch. The PyTorch
service, the scan and the Triton client all call :func:`preprocess`, so every backend sees
identical pixels; ``tests/imaging/test_preprocess.py`` compares it with ``open_clip``.

Extreme aspect ratios are bounded: a 1x10000 PNG would grow to 224 x 2,240,000 pixels (3.4 GB)
before the crop threw almost all of it away. Up to :data:`MAX_EXACT_RATIO`:1 (every photo and
panorama) the resize is the full one, bit-identical to open_clip; beyond it only the 224x224
window the crop keeps is resampled (Pillow's ``box``, same scale and sample positions), which
costs milliseconds and differs from the full resize only by fixed-point rounding (at most one
level on some pixels).

:func:`preprocess_uint8` stops before the normalisation, for the uint8 model whose graph
normalises itself (``contract.UINT8_MODEL_NAME``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from photodup.contract import CLIP_MEAN, CLIP_STD, IMAGE_SIZE
from photodup.imaging.decode import PhotoSource, load_photo

_MEAN = np.asarray(CLIP_MEAN, dtype=np.float32).reshape(3, 1, 1)
_STD = np.asarray(CLIP_STD, dtype=np.float32).reshape(3, 1, 1)
#: Longest side / shortest side up to which the resize is the full, open_clip-exact one; the
#: intermediate image then holds at most 224 x 3584 pixels (2.4 MB).
MAX_EXACT_RATIO = 16


def _crop_window(length: int, resized: int, size: int) -> tuple[float, float]:
    """Source span [a, b) of the centre ``size`` pixels of ``length`` resized to ``resized``."""
    first = round((resized - size) / 2.0)
    scale = length / resized
    return first * scale, min(float(length), (first + size) * scale)


def resize_and_crop(img: Image.Image, size: int = IMAGE_SIZE) -> Image.Image:
    """Shorter side to ``size`` (bicubic), then the centre ``size`` x ``size`` square."""
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(size * long / short)
    new_w, new_h = (size, new_long) if w <= h else (new_long, size)
    if new_long <= size * MAX_EXACT_RATIO:
        if short != size:  # torchvision's Resize is a no-op at the target size
            img = img.resize((new_w, new_h), Image.Resampling.BICUBIC)
        left, top = round((new_w - size) / 2.0), round((new_h - size) / 2.0)
        return img.crop((left, top, left + size, top + size))
    x0, x1 = _crop_window(w, new_w, size)
    y0, y1 = _crop_window(h, new_h, size)
    # Two one-axis passes, horizontal first as the full resize does them: one boxed resize of
    # both axes may run them the other way round, and the uint8 rounding between the passes then
    # moves noisy upscaled pixels by 20 levels or more instead of one.
    rows = img.resize((size, h), Image.Resampling.BICUBIC, box=(x0, 0, x1, h))
    return rows.resize((size, size), Image.Resampling.BICUBIC, box=(0, y0, size, y1))


def preprocess_uint8(img: Image.Image) -> np.ndarray:
    """The cropped RGB pixels before normalisation: uint8 [3, 224, 224]."""
    if img.mode != "RGB":
        img = img.convert("RGB")
    return np.ascontiguousarray(np.asarray(resize_and_crop(img), dtype=np.uint8).transpose(2, 0, 1))


def normalise(pixels: np.ndarray) -> np.ndarray:
    """uint8 [..., 3, H, W] -> CLIP-normalised float32, the arithmetic the uint8 graph repeats."""
    scaled = pixels.astype(np.float32) / np.float32(255.0)
    return np.ascontiguousarray((scaled - _MEAN) / _STD, dtype=np.float32)


def preprocess(img: Image.Image) -> np.ndarray:
    """Return the model input for one decoded RGB image: float32 [3, 224, 224]."""
    return normalise(preprocess_uint8(img))


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
