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


def _heavy_jpeg(img: Image.Image) -> tuple[bytes, str]:
    """Re-saved again and again at low quality, as forwarded pictures end up."""
    data = encode(img, "JPEG", quality=35)
    for quality in (25, 20):
        with Image.open(io.BytesIO(data)) as again:
            data = encode(again.convert("RGB"), "JPEG", quality=quality)
    return data, ".jpg"


def _messenger(img: Image.Image) -> tuple[bytes, str]:
    """What a chat app sends: longer side 320 pixels, quality 60."""
    small = img.copy()
    small.thumbnail((320, 320), Image.Resampling.BILINEAR)
    return encode(small, "JPEG", quality=60), ".jpg"


def _straighten(img: Image.Image) -> tuple[bytes, str]:
    """Turned by 4 degrees and cropped to the largest upright rectangle, as an editor does."""
    turned = img.rotate(4.0, resample=Image.Resampling.BICUBIC, expand=False)
    w, h = img.size
    dx, dy = round(w * 0.09), round(h * 0.09)
    return encode(turned.crop((dx, dy, w - dx, h - dy)), "JPEG", quality=90), ".jpg"


def _crop_edit(img: Image.Image) -> tuple[bytes, str]:
    """A 20 % crop plus colour and contrast edits."""
    w, h = img.size
    cropped = img.crop((round(w * 0.12), round(h * 0.05), w - round(w * 0.08), h - round(h * 0.15)))
    edited = ImageEnhance.Contrast(ImageEnhance.Color(cropped).enhance(1.5)).enhance(1.25)
    return encode(edited, "JPEG", quality=88), ".jpg"


def _sticker(img: Image.Image) -> tuple[bytes, str]:
    """A sticker (a yellow disc with a face) pasted over about a sixth of the photo."""
    out = img.copy()
    draw = ImageDraw.Draw(out)
    w, h = out.size
    r = round(min(w, h) * 0.23)
    cx, cy = round(w * 0.68), round(h * 0.35)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(250, 210, 40), outline=(0, 0, 0), width=3)
    e = max(2, r // 6)
    for ex in (cx - r // 3, cx + r // 3):
        draw.ellipse((ex - e, cy - r // 3 - e, ex + e, cy - r // 3 + e), fill=(0, 0, 0))
    draw.arc((cx - r // 2, cy - r // 4, cx + r // 2, cy + r // 2), 20, 160, fill=(0, 0, 0), width=4)
    return encode(out, "JPEG", quality=90), ".jpg"


def _grey(img: Image.Image) -> tuple[bytes, str]:
    return encode(ImageOps.grayscale(img), "JPEG", quality=90), ".jpg"


def _turned(transpose: Image.Transpose) -> Derivation:
    return lambda img: (encode(img.transpose(transpose), "JPEG", quality=92), ".jpg")


def _mirror_crop(img: Image.Image) -> tuple[bytes, str]:
    """Mirrored and trimmed by 10 %: a selfie app's copy."""
    w, h = img.size
    box = (round(w * 0.07), round(h * 0.03), w - round(w * 0.03), h - round(h * 0.07))
    return encode(ImageOps.mirror(img).crop(box), "JPEG", quality=85), ".jpg"


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
    "jpeg_heavy": _heavy_jpeg,
    "messenger": _messenger,
    "straighten": _straighten,
    "crop_edit": _crop_edit,
    "sticker": _sticker,
    "grey": _grey,
    "rotate_90": _turned(Image.Transpose.ROTATE_90),
    "rotate_180": _turned(Image.Transpose.ROTATE_180),
    "mirror_crop": _mirror_crop,
}


def _tile(index: int) -> Derivation:
    """Hard negative: one quarter of the photo enlarged back to full size. It shares pixels
    with the original but is a different picture (a detail), never a duplicate."""

    def run(img: Image.Image) -> tuple[bytes, str]:
        w, h = img.size
        x, y = (index % 2) * w // 2, (index // 2) * h // 2
        part = img.crop((x, y, x + w // 2, y + h // 2)).resize((w, h), Image.Resampling.BICUBIC)
        return encode(part, "JPEG", quality=90), ".jpg"

    return run


def _detail(img: Image.Image) -> tuple[bytes, str]:
    """Hard negative: the middle 40 % of the photo enlarged (16 % of its area): a detail."""
    w, h = img.size
    box = (round(w * 0.3), round(h * 0.3), round(w * 0.7), round(h * 0.7))
    part = img.crop(box).resize((w, h), Image.Resampling.BICUBIC)
    return encode(part, "JPEG", quality=90), ".jpg"


#: Hard negatives: files made from a photo that are *not* duplicates of it (nor of each
#: other). The eval gives each its own source, so grouping any of them is a false pair.
NEGATIVES: dict[str, Derivation] = {
    "tile_0": _tile(0),
    "tile_3": _tile(3),
    "detail": _detail,
}


def derive(img: Image.Image, kind: str) -> tuple[bytes, str]:
    """Return (file bytes, extension) of the ``kind`` copy of ``img``."""
    try:
        fn = DERIVATIONS[kind] if kind in DERIVATIONS else NEGATIVES[kind]
    except KeyError:
        choices = sorted({*DERIVATIONS, *NEGATIVES})
        raise KeyError(f"unknown derivation {kind!r}; choose from {choices}") from None
    return fn(img.convert("RGB"))
