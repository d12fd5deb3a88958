"""Examine one file in a worker process: bytes, SHA-256, metadata, perceptual hashes, tensor.

The file is read once; hashing, metadata and decoding all work on those bytes, and its size
and mtime are taken from the open file so they describe exactly the content that was hashed.
"""

from __future__ import annotations

import hashlib
import io
import os
import signal
import threading
import time
from dataclasses import dataclass
from datetime import datetime

import imagehash
import numpy as np
from PIL import Image, UnidentifiedImageError

from photodup.finder.records import PhotoRecord, Skipped, display_path
from photodup.finder.verify.features import Extracted, safe_extract
from photodup.finder.walk import FoundFile
from photodup.imaging import ImageDecodeError, load_photo, preprocess

_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 0x9003
_DATETIME = 0x0132
_MAKE, _MODEL, _ORIENTATION = 0x010F, 0x0110, 0x0112


@dataclass(frozen=True)
class Examined:
    """What a worker found: a photo with its model input, a skipped file, or neither."""

    found: FoundFile
    record: PhotoRecord | None = None
    tensor: np.ndarray | None = None
    skipped: Skipped | None = None
    extracted: Extracted | None = None  # local features for verification (None: failed)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a killed process stays a zombie until its parent reaps it
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return True


def _exit_when_gone(main_pid: int) -> None:
    while True:
        time.sleep(1.0)
        if not _alive(main_pid):
            os._exit(1)  # the scan was killed (SIGKILL): do not linger as an orphan


def worker_init(main_pid: int) -> None:
    # Ctrl-C goes to the whole process group; the main process alone decides how to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_when_gone, args=(main_pid,), daemon=True).start()


def _exif_time(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip("\x00 ").strip(), "%Y:%m:%d %H:%M:%S").isoformat()
    except ValueError:
        return None  # cameras with an unset clock write "0000:00:00 00:00:00"


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    cleaned = value.strip("\x00 ").strip()
    return cleaned or None


def _metadata(data: bytes) -> tuple[str, int, int, str | None, str | None, str | None, int | None]:
    """Format, displayed width/height, capture time, make, model, orientation (header only)."""
    with Image.open(io.BytesIO(data)) as img:
        fmt = img.format or "unknown"
        width, height = img.size
        exif = img.getexif()
    orientation = exif.get(_ORIENTATION)
    orientation = orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else None
    if orientation in (5, 6, 7, 8):
        width, height = height, width  # stored sideways, shown upright
    captured = _exif_time(exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL)) or _exif_time(
        exif.get(_DATETIME)
    )
    return (
        fmt,
        width,
        height,
        captured,
        _text(exif.get(_MAKE)),
        _text(exif.get(_MODEL)),
        orientation,
    )


def _hash64(img: Image.Image, kind: str) -> int:
    h = imagehash.phash(img) if kind == "phash" else imagehash.dhash(img)
    return int(str(h), 16)


def _looks_like_image(path: bytes) -> bool:
    try:
        with Image.open(os.fsdecode(path)):
            return True
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return False


def examine(found: FoundFile) -> Examined:
    """Run in a worker: never raises for bad input, reports it as ``Examined.skipped``."""
    name = display_path(found.rel)

    def skip(kind: str, reason: str, size: int | None = found.size) -> Examined:
        item = Skipped(found.rel, kind, reason, size=size, mtime_ns=found.mtime_ns)
        return Examined(found, skipped=item)

    # Files without a photo extension count only if their content is an image.
    if not found.image_extension and not _looks_like_image(found.abs):
        return Examined(found)
    try:
        with open(found.abs, "rb") as fh:
            st = os.fstat(fh.fileno())
            data = fh.read()
    except FileNotFoundError:
        return skip("unreadable", "file vanished during the scan")
    except OSError as exc:
        return skip("unreadable", f"cannot read file: {exc.strerror or exc}")
    found = FoundFile(found.rel, found.abs, len(data), st.st_mtime_ns, found.image_extension)
    try:
        img = load_photo(data, name=name)
        fmt, width, height, captured, make, model, orientation = _metadata(data)
        tensor = preprocess(img)
        phash, dhash = _hash64(img, "phash"), _hash64(img, "dhash")
    except ImageDecodeError as exc:
        return skip(exc.kind, exc.reason, len(data))
    except Exception as exc:  # one bad file must never stop a scan
        return skip("corrupt", f"cannot read image: {type(exc).__name__}: {exc}", len(data))
    record = PhotoRecord(
        path=found.rel,
        size=len(data),
        mtime_ns=st.st_mtime_ns,
        sha256=hashlib.sha256(data).hexdigest(),
        width=width,
        height=height,
        format=fmt,
        captured_at=captured,
        camera_make=make,
        camera_model=model,
        orientation=orientation,
        phash=phash,
        dhash=dhash,
    )
    return Examined(found, record=record, tensor=tensor, extracted=safe_extract(img, name))
