"""Walk a photo library: every regular file, as raw bytes paths, without following links.

Hidden entries (names starting with ``.``) are not visited: that covers the index and
quarantine folder ``.photodup``, ``.git``, ``.thumbnails`` and macOS ``._*`` resource forks.
Whether a file is a photo is decided later from its content; the extension only decides
whether a file that turns out not to be an image is worth reporting.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

#: Extensions people give photo files. A file with one of these that is not a readable
#: image is reported as skipped; any other file is only indexed if Pillow identifies it.
IMAGE_EXTENSIONS = frozenset(
    b".jpg .jpeg .jpe .jfif .png .webp .gif .tif .tiff .bmp .dib .heic .heif .hif".split()
)


@dataclass(frozen=True)
class FoundFile:
    rel: bytes  # relative to the library root
    abs: bytes
    size: int
    mtime_ns: int
    image_extension: bool
    #: Another file this scan examines has the same size, so the two may be copies.
    twin: bool = False


@dataclass
class WalkResult:
    files: list[FoundFile] = field(default_factory=list)
    #: Folders that could not be listed, relative, with a trailing separator, and the reason.
    unreadable_dirs: dict[bytes, str] = field(default_factory=dict)


def has_image_extension(name: bytes) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def _entries(
    root: bytes, rel: bytes, unreadable_dirs: dict[bytes, str]
) -> Iterator[os.DirEntry[bytes]]:
    try:
        with os.scandir(os.path.join(root, rel) if rel else root) as it:
            yield from it
    except OSError as exc:
        key = rel + b"/"
        unreadable_dirs[key] = exc.strerror or str(exc)
        log.warning("cannot list folder %s: %s", key.decode("utf-8", "backslashreplace"), exc)


def iter_library(library: Path, unreadable_dirs: dict[bytes, str]) -> Iterator[FoundFile]:
    """Yield every candidate file under ``library`` as it is found, folder by folder.

    Nothing is kept: the scan streams these into its index, so its memory does not grow with
    the library. Folders that cannot be listed are added to ``unreadable_dirs``.
    """
    root = os.fsencode(library)
    stack = [b""]
    while stack:
        rel_dir = stack.pop()
        for entry in _entries(root, rel_dir, unreadable_dirs):
            if entry.name.startswith(b"."):
                continue
            rel = os.path.join(rel_dir, entry.name) if rel_dir else entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # vanished between listing and stat: nothing to report
            if stat.S_ISDIR(st.st_mode):
                stack.append(rel)
            elif stat.S_ISREG(st.st_mode):
                yield FoundFile(
                    rel, entry.path, st.st_size, st.st_mtime_ns, has_image_extension(rel)
                )
            # Symlinks, sockets, fifos and devices are not photos we own: left alone.


def walk_library(library: Path) -> WalkResult:
    """Every candidate file under ``library`` in one sorted list (for tools and tests; the
    scan itself streams :func:`iter_library`)."""
    result = WalkResult()
    result.files = sorted(iter_library(library, result.unreadable_dirs), key=lambda f: f.rel)
    return result
