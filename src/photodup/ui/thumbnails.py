"""Serving photos safely: containment checks, cached thumbnails, full-size JPEG renditions.

Files are reached only through a photo id from the index, and only if the resolved path
(symlinks followed) lies inside the library, so neither a crafted path in the index nor a
symlink can expose anything outside it. Everything is decoded with ``photodup.imaging``
(EXIF orientation, HEIC, 16-bit) and re-encoded as JPEG, which every browser shows.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

from PIL import Image

from photodup.finder.records import Photo
from photodup.imaging import ImageDecodeError, load_photo


class OutsideLibraryError(PermissionError):
    """The photo's path resolves outside the library (crafted index entry or symlink)."""


def contained_path(library: Path, photo: Photo) -> Path:
    """The photo's real path, if it is a regular file inside ``library``."""
    root = library.resolve()
    try:
        real = photo.abs_path(root).resolve(strict=True)
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise FileNotFoundError(f"{photo.display_path} is no longer in the library") from exc
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
        raise OutsideLibraryError(f"{photo.display_path}: cannot resolve path ({exc})") from exc
    if not real.is_relative_to(root) or real == root:
        raise OutsideLibraryError(f"{photo.display_path} resolves outside the library")
    if not real.is_file():
        raise FileNotFoundError(f"{photo.display_path} is not a regular file")
    return real


def _encode_jpeg(img: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()


class ThumbnailCache:
    """JPEG thumbnails under ``<library>/.photodup/thumbs/``, keyed by content hash.

    Keyed by sha256 (not path or id): byte-identical copies share one thumbnail, and a
    file that is moved or renamed keeps it.
    """

    def __init__(self, library: Path, folder: Path, size: int) -> None:
        self.library = library
        self.folder = folder
        self.size = size

    def path_for(self, sha256: str) -> Path:
        return self.folder / sha256[:2] / f"{sha256}-{self.size}.jpg"

    def get(self, photo: Photo) -> Path:
        """The cached thumbnail, created on first use; raises ImageDecodeError or OSError."""
        # Checked even when cached: a thumbnail is only shown for a file that is still there.
        source = contained_path(self.library, photo)
        cached = self.path_for(photo.sha256)
        if cached.is_file():
            return cached
        # Decode at a reduced scale where the JPEG allows: a thumbnail needs few pixels.
        img = load_photo(source, name=photo.display_path, min_side=self.size)
        img.thumbnail((self.size, self.size), Image.Resampling.LANCZOS)
        data = _encode_jpeg(img, quality=82)
        cached.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: two requests for one thumbnail never see a half-written file.
        fd, tmp = tempfile.mkstemp(dir=cached.parent, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, cached)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return cached


def full_size_jpeg(library: Path, photo: Photo, max_side: int) -> bytes:
    """The photo upright as a JPEG, no larger than ``max_side`` on its longer side."""
    source = contained_path(library, photo)
    img = load_photo(source, name=photo.display_path, draft=False)
    if max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return _encode_jpeg(img, quality=90)


__all__ = ["ImageDecodeError", "OutsideLibraryError", "ThumbnailCache", "contained_path"]
