"""Examine one file in a worker process: bytes, SHA-256, metadata, perceptual hashes, pixels.

The file is read once; hashing, metadata and decoding all work on those bytes, and its size
and mtime are taken from the open file so they describe exactly the content that was hashed.
A file that changes while it is read (size or mtime differ after the read, or the path now
names another file) is skipped as ``changed``: the bytes may be half old, half new.

``candidates`` are SHA-256s whose embedding the scan already has (in the index, or from a
file examined earlier in this scan): a file with one of them is only hashed, not decoded,
and comes back with ``reuse`` set. Each result carries the seconds spent per stage.
"""

from __future__ import annotations

import hashlib
import io
import os
import signal
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime

import imagehash
import numpy as np
from PIL import Image, UnidentifiedImageError

from photodup.finder.records import PhotoRecord, Skipped, display_path
from photodup.finder.verify.features import Extracted, safe_extract
from photodup.finder.walk import FoundFile
from photodup.imaging import ImageDecodeError, load_photo, preprocess_uint8

_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 0x9003
_DATETIME = 0x0132
_MAKE, _MODEL, _ORIENTATION = 0x010F, 0x0110, 0x0112


#: Stages timed in the workers (CPU seconds); ``cpu`` is the worker's whole CPU time per file.
WORKER_STAGES = ("read_hash", "metadata", "decode", "preprocess", "phash", "cpu")


@dataclass(frozen=True)
class Examined:
    """What a worker found: a photo with its model input, a skipped file, or neither.

    ``reuse`` is set instead of ``record``/``tensor`` when the content's SHA-256 was one of
    the candidates: the scan copies that content's record and embedding to this path.
    """

    found: FoundFile
    record: PhotoRecord | None = None
    tensor: np.ndarray | None = None  # uint8 [3, 224, 224] model input (preprocess_uint8)
    skipped: Skipped | None = None
    reuse: str | None = None
    extracted: Extracted | None = None  # local features for verification (None: failed)
    times: dict[str, float] = field(default_factory=dict)


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


def _read(path: bytes) -> tuple[bytes, os.stat_result]:
    """The whole file and the stat of the open file taken before reading it."""
    with open(path, "rb") as fh:
        st = os.fstat(fh.fileno())
        return fh.read(), st


def _changed_while_read(path: bytes, before: os.stat_result, data: bytes) -> str | None:
    """Why the bytes read may not be one version of the file, or None if they are."""
    try:
        after = os.stat(path)
    except FileNotFoundError:
        return "file vanished while it was being read"
    except OSError as exc:
        return f"cannot stat file after reading it: {exc.strerror or exc}"
    if (after.st_ino, after.st_dev) != (before.st_ino, before.st_dev):
        return "file was replaced while it was being read"
    if len(data) != before.st_size or after.st_size != before.st_size:
        return f"file size changed while it was being read ({before.st_size} -> {after.st_size})"
    if after.st_mtime_ns != before.st_mtime_ns:
        return "file was modified while it was being read"
    return None


def examine(found: FoundFile, candidates: frozenset[str] = frozenset()) -> Examined:
    """Run in a worker: never raises for bad input, reports it as ``Examined.skipped``."""
    name = display_path(found.rel)
    cpu0 = clock = time.process_time()
    times: dict[str, float] = {}

    def lap(stage: str) -> None:
        # CPU time, not wall: on shared cores the wall clock would charge other programs'
        # time to whichever stage was running.
        nonlocal clock
        now = time.process_time()
        times[stage] = now - clock
        clock = now

    def done(**kw: object) -> Examined:
        times["cpu"] = time.process_time() - cpu0
        # ``found`` is rebound below to the size and mtime of the content actually read.
        return Examined(found, times=times, **kw)  # type: ignore[arg-type]

    def skip(kind: str, reason: str, size: int | None = found.size) -> Examined:
        item = Skipped(found.rel, kind, reason, size=size, mtime_ns=found.mtime_ns)
        return done(skipped=item)

    # Files without a photo extension count only if their content is an image.
    if not found.image_extension and not _looks_like_image(found.abs):
        return done()
    try:
        data, st = _read(found.abs)
        sha256 = hashlib.sha256(data).hexdigest()
    except FileNotFoundError:
        return skip("unreadable", "file vanished during the scan")
    except OSError as exc:
        return skip("unreadable", f"cannot read file: {exc.strerror or exc}")
    lap("read_hash")
    changed = _changed_while_read(found.abs, st, data)
    if changed is not None:
        # No size or mtime on record: the next scan reads it again whatever the walk sees.
        reason = f"{changed}; it is read again on the next scan"
        return done(skipped=Skipped(found.rel, "changed", reason))
    found = replace(found, size=len(data), mtime_ns=st.st_mtime_ns)
    if sha256 in candidates:
        return done(reuse=sha256)
    try:
        img = load_photo(data, name=name)  # first: its errors name the problem best
        lap("decode")
        fmt, width, height, captured, make, model, orientation = _metadata(data)
        lap("metadata")
        tensor = preprocess_uint8(img)  # a quarter of the bytes of float32 on every hop
        lap("preprocess")
        gray = img.convert("L")  # what both hashes start from: convert once, same values
        phash, dhash = _hash64(gray, "phash"), _hash64(gray, "dhash")
        lap("phash")
        extracted = safe_extract(img, name)
        lap("features")
    except ImageDecodeError as exc:
        return skip(exc.kind, exc.reason, len(data))
    except Exception as exc:  # one bad file must never stop a scan
        return skip("corrupt", f"cannot read image: {type(exc).__name__}: {exc}", len(data))
    record = PhotoRecord(
        path=found.rel,
        size=len(data),
        mtime_ns=st.st_mtime_ns,
        sha256=sha256,
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
    return done(record=record, tensor=tensor, extracted=extracted)
