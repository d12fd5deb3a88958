"""Copies of a photo made the way people make them: the near-duplicate kinds we must find.

Each derivation turns an upright RGB image into the bytes of a new file and the extension
that file gets. The eval set and the sample library are built from these.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageEnhance, ImageOps

#: Orientation 6 means "rotate 90 degrees clockwise to display"; the stored pixels are the
#: displayed picture turned 90 degrees counter-clockwise, as a phone held sideways writes.
_EXIF_ORIENTATION = 0x0112
Derivation = Callable[[Image.Image], tuple[bytes, str]]


def encode(
    img: Image.Image, fmt: str, *, exif: Image.Exif | None = None, **options: object
) -> bytes:
    """Encode ``img`` as ``fmt`` (JPEG, PNG, WEBP, HEIF, ...) and return the file bytes."""
    if fmt == "HEIF":
        from pillow_heif import register_heif_opener

        register_heif_opener()
    buf = io.BytesIO()
    kwargs = dict(options)
    if exif is not None:
        kwargs["exif"] = exif
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def _jpeg(quality: int) -> Derivation:
    return lambda img: (encode(img, "JPEG", quality=quality), ".jpg")


def _resize(factor: float) -> Derivation:
    def run(img: Image.Image) -> tuple[bytes, str]:
        size = (max(1, round(img.width * factor)), max(1, round(img.height * factor)))
        return encode(img.resize(size, Image.Resampling.LANCZOS), "JPEG", quality=90), ".jpg"

    return run


def _crop(fraction: float) -> Derivation:
    """Remove ``fraction`` of each dimension, off-centre like a hand-made crop."""

    def run(img: Image.Image) -> tuple[bytes, str]:
        dx, dy = round(img.width * fraction), round(img.height * fraction)
        box = (dx * 2 // 3, dy // 3, img.width - dx // 3, img.height - dy * 2 // 3)
        return encode(img.crop(box), "JPEG", quality=90), ".jpg"

    return run


def _exif_rotated(img: Image.Image) -> tuple[bytes, str]:
    exif = Image.Exif()
    exif[_EXIF_ORIENTATION] = 6
    stored = img.transpose(Image.Transpose.ROTATE_90)
    return encode(stored, "JPEG", quality=92, exif=exif), ".jpg"


def _pixels_rotated(img: Image.Image) -> tuple[bytes, str]:
    return encode(img.transpose(Image.Transpose.ROTATE_270), "JPEG", quality=92), ".jpg"


def _enhance(kind: Callable[[Image.Image], ImageEnhance._Enhance], factor: float) -> Derivation:
    return lambda img: (encode(kind(img).enhance(factor), "JPEG", quality=90), ".jpg")


def _flip(img: Image.Image) -> tuple[bytes, str]:
    return encode(ImageOps.mirror(img), "JPEG", quality=90), ".jpg"


def _border(img: Image.Image) -> tuple[bytes, str]:
    pad = max(4, round(min(img.size) * 0.06))
    return encode(ImageOps.expand(img, border=pad, fill="white"), "JPEG", quality=90), ".jpg"


def _screenshot(img: Image.Image) -> tuple[bytes, str]:
    """The photo shown in a phone viewer: dark margins, a status bar and a toolbar."""
    w, h = img.size
    bar, side = max(12, h // 12), max(4, w // 20)
    frame = Image.new("RGB", (w + 2 * side, h + 4 * bar), (18, 18, 18))
    frame.paste(img, (side, 2 * bar))
    draw = ImageDraw.Draw(frame)
    draw.rectangle((0, 0, frame.width, bar), fill=(245, 245, 245))
    draw.text((side, bar // 4), "12:41  photos", fill=(0, 0, 0))
    draw.rectangle((0, frame.height - bar, frame.width, frame.height), fill=(40, 40, 40))
    return encode(frame, "PNG"), ".png"


def _text_overlay(img: Image.Image) -> tuple[bytes, str]:
    out = img.copy()
    draw = ImageDraw.Draw(out)
    h = out.height
    draw.rectangle((0, h - h // 8, out.width, h), fill=(0, 0, 0))
    draw.text((8, h - h // 9), "Happy birthday! see you soon", fill=(255, 255, 255))
    return encode(out, "JPEG", quality=90), ".jpg"


#: kind name -> derivation. The names are the labels the eval reports per kind.
DERIVATIONS: dict[str, Derivation] = {
    "jpeg_q90": _jpeg(90),
    "jpeg_q70": _jpeg(70),
    "jpeg_q40": _jpeg(40),
    "resize_50": _resize(0.5),
    "resize_25": _resize(0.25),
    "crop_05": _crop(0.05),
    "crop_15": _crop(0.15),
    "crop_30": _crop(0.30),
    "rotate_exif": _exif_rotated,
    "rotate_pixels": _pixels_rotated,
    "brightness": _enhance(ImageEnhance.Brightness, 1.3),
    "contrast": _enhance(ImageEnhance.Contrast, 1.4),
    "colour": _enhance(ImageEnhance.Color, 0.4),
    "flip": _flip,
    "border": _border,
    "screenshot": _screenshot,
    "text_overlay": _text_overlay,
    "png": lambda img: (encode(img, "PNG"), ".png"),
    "webp": lambda img: (encode(img, "WEBP", quality=80), ".webp"),
    "heic": lambda img: (encode(img, "HEIF", quality=80), ".heic"),
}


def derive(img: Image.Image, kind: str) -> tuple[bytes, str]:
    """Return (file bytes, extension) of the ``kind`` copy of ``img``."""
    try:
        fn = DERIVATIONS[kind]
    except KeyError:
        raise KeyError(f"unknown derivation {kind!r}; choose from {sorted(DERIVATIONS)}") from None
    return fn(img.convert("RGB"))
