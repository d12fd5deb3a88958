"""Decoding photos as libraries really hold them, and every failure named and classified."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photodup.finder.sources import load_real_photo
from photodup.imaging import ImageDecodeError, load_photo

RED, BLUE, WHITE = (230, 20, 20), (20, 20, 230), (255, 255, 255)


def _halves(size: tuple[int, int] = (60, 40)) -> Image.Image:
    """Left half red, right half blue: orientation mistakes become visible."""
    img = Image.new("RGB", size, RED)
    img.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    return img


def _close(pixel: tuple[int, ...], colour: tuple[int, int, int], tol: int = 30) -> bool:
    return all(abs(int(a) - b) <= tol for a, b in zip(pixel, colour, strict=True))


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    _halves().save(path, "JPEG", quality=95, exif=exif)
    img = load_photo(path)
    assert img.mode == "RGB"
    assert img.size == (40, 60)  # width and height swapped
    # Clockwise: the left (red) half ends on top, the right (blue) half at the bottom.
    assert _close(img.getpixel((20, 5)), RED)
    assert _close(img.getpixel((20, 55)), BLUE)


def test_palette_and_palette_with_transparency(tmp_path: Path) -> None:
    path = tmp_path / "palette.png"
    _halves().convert("P", palette=Image.Palette.ADAPTIVE, colors=4).save(path)
    img = load_photo(path)
    assert img.mode == "RGB" and _close(img.getpixel((5, 5)), RED, 5)
    transparent = tmp_path / "palette_t.png"
    pal = _halves().convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    pal.save(transparent, transparency=pal.getpixel((5, 5)))
    img = load_photo(transparent)
    assert _close(img.getpixel((5, 5)), WHITE, 0)  # transparent shown on white
    assert _close(img.getpixel((55, 5)), BLUE, 5)


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_is_composited_on_white(tmp_path: Path, mode: str) -> None:
    img = _halves().convert(mode)
    alpha = Image.new("L", img.size, 255)
    alpha.paste(0, (0, 0, 30, 40))  # left half fully transparent
    img.putalpha(alpha)
    path = tmp_path / f"{mode}.png"
    img.save(path)
    out = load_photo(path)
    assert out.mode == "RGB"
    assert out.getpixel((5, 5)) == WHITE
    assert out.getpixel((55, 5)) != WHITE


def test_cmyk_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    _halves().convert("CMYK").save(path, "JPEG", quality=95)
    img = load_photo(path)
    assert img.mode == "RGB"
    red, green, blue = img.getpixel((5, 5))
    assert red > 150 and green < 100 and blue < 100


def test_sixteen_bit_png_keeps_its_range(tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(0, 65535, 256).astype(np.uint16), (8, 1))
    path = tmp_path / "deep.png"
    deep = Image.fromarray(ramp)
    assert deep.mode == "I;16"
    deep.save(path)
    img = load_photo(path)
    assert img.mode == "RGB"
    row = np.asarray(img)[0, :, 0].astype(int)
    # Scaled, not clipped: the ramp still spans 0..255 and rises steadily.
    assert row[0] == 0 and row[-1] == 255
    assert abs(row[128] - 128) <= 1
    assert np.all(np.diff(row) >= 0)


def test_grayscale_becomes_three_equal_channels(tmp_path: Path) -> None:
    path = tmp_path / "grey.jpg"
    load_real_photo("camera").save(path, "JPEG")
    arr = np.asarray(load_photo(path))
    assert arr.shape[2] == 3
    assert np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 1], arr[..., 2])


def test_animated_gif_uses_the_first_frame(tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (20, 20), RED), Image.new("RGB", (20, 20), BLUE)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert _close(load_photo(path).getpixel((10, 10)), RED, 10)


def test_heic_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "phone.heic"
    source = load_real_photo("coffee")
    source.save(path, format="HEIF", quality=90)
    img = load_photo(path)
    assert img.mode == "RGB" and img.size == source.size
    diff = np.abs(np.asarray(img, dtype=int) - np.asarray(source, dtype=int)).mean()
    assert diff < 8  # lossy HEVC, but the same picture


def _error(source: Path | bytes, **kwargs: object) -> ImageDecodeError:
    with pytest.raises(ImageDecodeError) as err:
        load_photo(source, **kwargs)  # type: ignore[arg-type]
    return err.value


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    err = _error(path)
    assert err.kind == "empty" and str(path) in str(err)


def test_truncated_jpeg(tmp_path: Path) -> None:
    full = io.BytesIO()
    load_real_photo("chelsea").save(full, "JPEG", quality=90)
    path = tmp_path / "cut.jpg"
    path.write_bytes(full.getvalue()[: len(full.getvalue()) // 2])
    err = _error(path)
    assert err.kind == "truncated" and str(path) in str(err)


def test_not_an_image_with_a_jpg_name(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("shopping list: milk, eggs")
    err = _error(path)
    assert err.kind == "not_an_image" and "notes.jpg" in str(err)


def test_missing_file(tmp_path: Path) -> None:
    err = _error(tmp_path / "gone.jpg")
    assert err.kind == "unreadable" and "gone.jpg" in str(err)


@pytest.mark.parametrize("pixels", [1500, 10_000])  # Pillow warns below 2x the limit, errors above
def test_decompression_bomb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pixels: int) -> None:
    side = int(pixels**0.5)
    path = tmp_path / "bomb.png"
    Image.new("RGB", (side, side)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    err = _error(path)
    assert err.kind == "too_large" and "bomb.png" in str(err)


def test_bytes_carry_the_given_name() -> None:
    err = _error(b"", name="upload 3")
    assert err.name == "upload 3" and str(err).startswith("upload 3:")
