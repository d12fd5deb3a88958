"""Walking a library and examining files as they really come, broken ones included."""

from __future__ import annotations

import io
import os
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

from photodup.finder.derive import encode
from photodup.finder.examine import examine
from photodup.finder.sample import camera_exif
from photodup.finder.walk import FoundFile, walk_library


def _found(path: Path | bytes, root: Path) -> FoundFile:
    raw = path if isinstance(path, bytes) else os.fsencode(path)
    st = os.stat(raw)
    rel = os.path.relpath(raw, os.fsencode(root))
    ext = os.path.splitext(rel)[1].lower()
    image_ext = ext in {b".jpg", b".png", b".gif", b".bmp", b".tif", b".webp", b".heic"}
    return FoundFile(rel, raw, st.st_size, st.st_mtime_ns, image_ext)


@pytest.fixture
def photo(real_photo_images: dict[str, Image.Image]) -> Image.Image:
    return real_photo_images["chelsea"]


def test_walk_skips_hidden_quarantine_and_links_and_keeps_raw_names(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.jpg").write_bytes(b"x")
    (tmp_path / ".photodup" / "quarantine").mkdir(parents=True)
    (tmp_path / ".photodup" / "quarantine" / "moved.jpg").write_bytes(b"x")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "two.jpg").write_bytes(b"x")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "three.jpg").write_bytes(b"x")
    (tmp_path / "a" / "link.jpg").symlink_to(tmp_path / "a" / "one.jpg")
    (tmp_path / "a" / "dirlink").symlink_to(tmp_path / "outside", target_is_directory=True)
    with open(os.path.join(os.fsencode(tmp_path), b"caf\xe9.png"), "wb") as fh:
        fh.write(b"x")
    (tmp_path / "notes.txt").write_text("hi")
    found = walk_library(tmp_path)
    assert [f.rel for f in found.files] == [
        b"a/one.jpg",
        b"caf\xe9.png",
        b"notes.txt",
        b"outside/three.jpg",
    ]
    assert [f.image_extension for f in found.files] == [True, True, False, True]
    assert found.unreadable_dirs == {}


def test_examine_reads_metadata_hashes_and_model_input(tmp_path: Path, photo: Image.Image) -> None:
    path = tmp_path / "cat.jpg"
    exif = camera_exif(1, datetime(2023, 7, 14, 18, 2, 3))
    exif[0x0112] = 8  # stored sideways
    path.write_bytes(encode(photo.transpose(Image.Transpose.ROTATE_270), "JPEG", exif=exif))
    result = examine(_found(path, tmp_path))
    assert result.skipped is None and result.record is not None and result.tensor is not None
    rec = result.record
    assert (rec.width, rec.height) == photo.size  # upright size
    assert (rec.camera_make, rec.camera_model, rec.orientation) == ("Apple", "iPhone 13", 8)
    assert rec.captured_at == "2023-07-14T18:02:03"
    assert rec.size == path.stat().st_size and len(rec.sha256) == 64
    assert result.tensor.shape == (3, 224, 224)
    # The upright pixels hash like the original photo does.
    direct = examine(_found(_write(tmp_path / "plain.png", encode(photo, "PNG")), tmp_path))
    assert direct.record is not None
    assert bin(direct.record.phash ^ rec.phash).count("1") <= 4


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "WEBP", "HEIF"])
def test_every_photo_format_is_indexed(tmp_path: Path, photo: Image.Image, fmt: str) -> None:
    path = _write(tmp_path / f"p.{fmt.lower()}", encode(photo, fmt))
    result = examine(_found(path, tmp_path))
    assert result.record is not None, result.skipped
    assert result.record.format == fmt and (result.record.width, result.record.height) == photo.size


def test_content_decides_not_the_extension(tmp_path: Path, photo: Image.Image) -> None:
    disguised = _write(tmp_path / "photo.dat", encode(photo, "JPEG"))
    text = _write(tmp_path / "readme.txt", b"hello")
    jpeg = examine(_found(disguised, tmp_path))
    assert jpeg.record is not None and jpeg.record.format == "JPEG"
    ignored = examine(_found(text, tmp_path))
    assert ignored.record is None and ignored.skipped is None


def test_bad_files_are_reported_with_kind_and_reason(tmp_path: Path, photo: Image.Image) -> None:
    good = encode(photo, "JPEG")
    bomb = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(bomb, "PNG")  # 144 Mpx, a few KiB on disk
    cases = {
        "empty.jpg": (b"", "empty"),
        "half.jpg": (good[: len(good) // 2], "truncated"),
        "letter.jpg": (b"Dear Sir,\n" * 20, "not_an_image"),
        "bomb.png": (bomb.getvalue(), "too_large"),
        "noise.png": (b"\x89PNG\r\n\x1a\n" + os.urandom(200), "not_an_image"),
    }
    for name, (data, kind) in cases.items():
        result = examine(_found(_write(tmp_path / name, data), tmp_path))
        assert result.record is None and result.skipped is not None, name
        assert result.skipped.kind == kind, (name, result.skipped)
        assert result.skipped.reason and result.skipped.path == name.encode()
    # Damaged pixel data behind an intact header: Pillow reports a broken data stream.
    damaged = bytearray(encode(photo, "PNG"))
    at = damaged.find(b"IDAT")
    damaged[at + 4 : at + 40] = bytes(36)
    result = examine(_found(_write(tmp_path / "damaged.png", bytes(damaged)), tmp_path))
    assert result.skipped is not None and result.skipped.kind in {"truncated", "corrupt"}
    assert "cannot decode image" in result.skipped.reason


def test_unreadable_and_vanished_files(tmp_path: Path, photo: Image.Image) -> None:
    gone = _found(_write(tmp_path / "gone.jpg", encode(photo, "JPEG")), tmp_path)
    os.unlink(gone.abs)
    vanished = examine(gone)
    assert vanished.skipped is not None and vanished.skipped.kind == "unreadable"
    assert "vanished" in vanished.skipped.reason
    # Tests run as root, so chmod 000 cannot make a file unreadable; a path that cannot be
    # opened as a file (here a folder) goes through the same read error.
    (tmp_path / "folder.jpg").mkdir()
    blocked = FoundFile(b"folder.jpg", os.fsencode(tmp_path / "folder.jpg"), 0, 0, True)
    result = examine(blocked)
    assert result.skipped is not None and result.skipped.kind == "unreadable"
    assert "cannot read file" in result.skipped.reason


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads chmod-000 folders anyway")
def test_unlistable_folder_is_reported(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        assert walk_library(tmp_path).unreadable_dirs.keys() == {b"locked/"}
    finally:
        locked.chmod(0o755)


def test_file_changed_while_read_is_skipped_and_read_again_later(
    tmp_path: Path, photo: Image.Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    import photodup.finder.examine as examine_module

    path = _write(tmp_path / "live.jpg", encode(photo, "JPEG"))
    found = _found(path, tmp_path)
    real_read = examine_module._read

    def read_then_append(raw: bytes) -> tuple[bytes, os.stat_result]:
        # Another program writes to the file right after we read it: the worst moment.
        result = real_read(raw)
        with open(raw, "ab") as fh:
            fh.write(b"\0" * 100)
        return result

    monkeypatch.setattr(examine_module, "_read", read_then_append)
    result = examine(found)
    assert result.record is None and result.skipped is not None
    assert result.skipped.kind == "changed"
    assert "changed while it was being read" in result.skipped.reason
    # Nothing to compare on the next walk: whatever its size and mtime, it is read again.
    assert (result.skipped.size, result.skipped.mtime_ns) == (None, None)

    def read_then_replace(raw: bytes) -> tuple[bytes, os.stat_result]:
        result = real_read(raw)
        os.replace(_write(tmp_path / "new.jpg", encode(photo.rotate(90), "JPEG")), raw)
        return result

    monkeypatch.setattr(examine_module, "_read", read_then_replace)
    replaced = examine(_found(path, tmp_path))
    assert replaced.skipped is not None and "replaced" in replaced.skipped.reason
    monkeypatch.setattr(examine_module, "_read", real_read)
    settled = examine(_found(path, tmp_path))
    assert settled.record is not None and settled.record.size == path.stat().st_size


def test_a_known_content_is_hashed_not_decoded(tmp_path: Path, photo: Image.Image) -> None:
    path = _write(tmp_path / "copy.jpg", encode(photo, "JPEG"))
    full = examine(_found(path, tmp_path))
    assert full.record is not None and full.reuse is None
    assert {"read_hash", "decode", "preprocess", "phash", "cpu"} <= set(full.times)
    again = examine(_found(path, tmp_path), frozenset({full.record.sha256}))
    assert again.reuse == full.record.sha256
    assert again.record is None and again.tensor is None and "decode" not in again.times
    other = examine(_found(path, tmp_path), frozenset({"0" * 64}))
    assert other.record is not None and other.record.sha256 == full.record.sha256
