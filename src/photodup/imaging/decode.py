"""Open a photo from a path or bytes and return an upright 8-bit RGB image.

Handles what real libraries contain: EXIF orientation, palette/alpha/CMYK/16-bit/grayscale
modes, animated files (first frame), HEIC/HEIF (pillow-heif), and large images: JPEGs are
decoded at a reduced scale with Pillow's draft mode, others reduced by a whole factor right
after decoding, both only as far as cannot change the embedding (tests/imaging/test_draft.py).
Every failure becomes an :class:`ImageDecodeError` naming the file and the problem.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

from photodup.contract import IMAGE_SIZE

register_heif_opener()

PhotoSource = str | Path | bytes | Image.Image

#: Draft-mode JPEG decoding keeps the shorter side at least this many pixels, i.e. at least
#: twice the model input, so the bicubic downscale that follows sees enough detail
#: (measured: see tests/imaging/test_decode.py and docs/inference.md).
DRAFT_MIN_SIDE = 2 * IMAGE_SIZE


class ImageDecodeError(ValueError):
    """A photo that cannot be used, with the file it came from and the reason."""

    def __init__(self, name: str, reason: str, kind: str = "corrupt") -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason
        #: one of: empty, truncated, not_an_image, too_large, unreadable, corrupt
        self.kind = kind


def _name_of(source: PhotoSource, name: str | None) -> str:
    if name is not None:
        return name
    if isinstance(source, str | Path):
        return str(source)
    return "<bytes>" if isinstance(source, bytes) else "<image>"


def _open(source: str | Path | bytes, name: str) -> Image.Image:
    fp: IO[bytes] | Path
    if isinstance(source, bytes):
        if not source:
            raise ImageDecodeError(name, "empty file (0 bytes)", "empty")
        fp = io.BytesIO(source)
    else:
        path = Path(source)
        try:
            size = path.stat().st_size
        except FileNotFoundError as exc:
            raise ImageDecodeError(
                name, "file vanished before it could be read", "unreadable"
            ) from exc
        except OSError as exc:
            raise ImageDecodeError(name, f"cannot read file: {exc.strerror}", "unreadable") from exc
        if size == 0:
            raise ImageDecodeError(name, "empty file (0 bytes)", "empty")
        fp = path
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its limit and twice the limit; treat both as bombs.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(fp)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageDecodeError(
            name, f"image too large to decode safely ({exc})", "too_large"
        ) from exc
    except UnidentifiedImageError as exc:
        raise ImageDecodeError(name, "not an image Pillow can identify", "not_an_image") from exc
    except PermissionError as exc:
        raise ImageDecodeError(name, "permission denied", "unreadable") from exc
    except FileNotFoundError as exc:
        raise ImageDecodeError(name, "file vanished before it could be read", "unreadable") from exc
    except OSError as exc:
        raise ImageDecodeError(name, f"cannot open image: {exc}", "corrupt") from exc


def _to_8bit_rgb(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to RGB without clipping high-bit-depth data."""
    if img.mode == "RGB":
        return img
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") else max(float(arr.max()), 1.0)
        if img.mode in ("I", "F") and top <= 255.0:
            top = 255.0
        gray = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(gray, "L").convert("RGB")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        # Transparent pixels of screenshots and logos are shown on white, as viewers do.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def load_photo(
    source: PhotoSource,
    *,
    name: str | None = None,
    draft: bool = True,
    min_side: int = DRAFT_MIN_SIDE,
) -> Image.Image:
    """Decode ``source`` into an upright RGB image ready for :func:`preprocess`.

    ``draft`` lets JPEGs much larger than the model input decode at 1/2, 1/4 or 1/8 scale,
    and other images be box-reduced by a whole factor after decoding, never below
    ``min_side`` on the shorter side.
    """
    label = _name_of(source, name)
    img = source if isinstance(source, Image.Image) else _open(source, label)
    try:
        if getattr(img, "n_frames", 1) > 1:
            img.seek(0)
        if draft and img.format == "JPEG":
            w, h = img.size
            # draft() picks the largest reduction that keeps both sides >= the requested box,
            # so request a box whose smaller side is min_side, scaled to the aspect ratio.
            scale = min_side / min(w, h)
            if scale < 0.5:
                img.draft("RGB", (max(1, round(w * scale)), max(1, round(h * scale))))
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img.load()
            img = ImageOps.exif_transpose(img) or img
        rgb = _to_8bit_rgb(img)
        # Formats without a reduced-size decode (PNG, WebP, HEIC, ...) and JPEGs too large
        # for draft's 1/8: a box reduction by a whole factor, still >= min_side, makes the
        # bicubic resize that follows ~10x cheaper (measured: docs and bench/results/scan).
        factor = min(rgb.size) // min_side if draft else 1
        return rgb.reduce(factor) if factor >= 2 else rgb
    except ImageDecodeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageDecodeError(
            label, f"image too large to decode safely ({exc})", "too_large"
        ) from exc
    except OSError as exc:
        message = str(exc)
        kind = (
            "truncated" if "truncated" in message or "broken data stream" in message else "corrupt"
        )
        raise ImageDecodeError(label, f"cannot decode image: {message}", kind) from exc
    except (ValueError, SyntaxError, EOFError, IndexError, TypeError) as exc:
        raise ImageDecodeError(label, f"cannot decode image: {exc}", "corrupt") from exc


# A truncated JPEG must be reported, not silently padded with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False
