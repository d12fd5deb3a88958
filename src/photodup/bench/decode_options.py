"""Reduced-size decode options, measured (issue 9, part 5): CPU per 12 MP photo and the change
in the model input, for each format, with the reduction the scan uses and without it.

JPEG: Pillow's draft mode (DCT scaling while decoding). PNG, WebP, HEIC: a whole-factor box
reduction right after decoding (``Image.reduce``), which makes the bicubic resize to 224 px
~10x cheaper. Both keep the shorter side >= 448 px; the embedding bar (cosine >= 0.999 on
the real ViT-B-32) is checked in tests/imaging/test_draft.py and test_reduce.py.
"""

from __future__ import annotations

import io
import time
from typing import Any

import numpy as np
from PIL import Image

from photodup.finder.sources import load_real_photo
from photodup.imaging import load_photo, preprocess

FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")
SIZE = (4032, 3024)


def _cpu_ms(blob: bytes, reduced: bool, repeats: int) -> tuple[float, float, np.ndarray]:
    decode = prep = 0.0
    tensor = np.empty(0)
    for _ in range(repeats):
        t0 = time.process_time()
        img = load_photo(blob, draft=reduced)
        t1 = time.process_time()
        tensor = preprocess(img)
        t2 = time.process_time()
        decode, prep = decode + t1 - t0, prep + t2 - t1
    return 1000 * decode / repeats, 1000 * prep / repeats, tensor


def measure_decode_options(repeats: int = 3) -> list[dict[str, Any]]:
    from pillow_heif import register_heif_opener

    register_heif_opener()
    img = load_real_photo("astronaut").resize(SIZE, Image.Resampling.BICUBIC)
    rows = []
    for fmt in FORMATS:
        buf = io.BytesIO()
        img.save(buf, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
        blob = buf.getvalue()
        _cpu_ms(blob, True, 1)  # warm-up: codec initialisation
        full_decode, full_prep, full = _cpu_ms(blob, False, repeats)
        red_decode, red_prep, reduced = _cpu_ms(blob, True, repeats)
        rows.append(
            {
                "format": fmt,
                "bytes": len(blob),
                "full_decode_ms": full_decode,
                "full_preprocess_ms": full_prep,
                "reduced_decode_ms": red_decode,
                "reduced_preprocess_ms": red_prep,
                "reduced_size": list(load_photo(blob).size),
                "speedup": (full_decode + full_prep) / max(red_decode + red_prep, 1e-9),
                "input_mean_abs_diff": float(np.abs(full - reduced).mean()),
            }
        )
    return rows
