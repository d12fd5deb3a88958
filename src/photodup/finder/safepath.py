"""Paths inside the library that are real: no component is a symlink, the file is regular.

A move touches a photo only through such a path, checked right before acting: a folder
swapped for a symlink since the scan would otherwise lead a move (or an undo) out of the
library. Every component is checked with ``lstat``, which never follows a link.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from photodup.finder.filemoves import Fingerprint, sha256_file


class UnsafePath(OSError):
    """A path leaves the library or passes through a symlink; nothing was done to it."""


def _components(rel: bytes) -> list[bytes]:
    parts = [p for p in rel.split(b"/") if p not in (b"", b".")]
    if not parts or b".." in parts or rel.startswith(b"/"):
        raise UnsafePath(f"{rel.decode('utf-8', 'backslashreplace')!r} is not inside the library")
    return parts


def check_folders(library: Path, rel: bytes, *, create: bool = False) -> Path:
    """The folder that holds ``rel``, after checking each component is a real folder.

    With ``create``, missing folders are made (as real folders, one at a time). Raises
    UnsafePath naming the component that is a symlink or not a folder.
    """
    parts = _components(rel)
    here = os.fsencode(library)
    for part in parts[:-1]:
        here = os.path.join(here, part)
        try:
            st = os.lstat(here)
        except FileNotFoundError:
            if not create:
                raise UnsafePath(f"folder {os.fsdecode(here)} no longer exists") from None
            with contextlib.suppress(FileExistsError):
                os.mkdir(here, 0o755)
            st = os.lstat(here)
        if stat.S_ISLNK(st.st_mode):
            raise UnsafePath(
                f"{os.fsdecode(here)} is a symlink; photodup only writes to real folders"
                " inside the library"
            )
        if not stat.S_ISDIR(st.st_mode):
            raise UnsafePath(f"{os.fsdecode(here)} is not a folder")
    return Path(os.fsdecode(here))


def real_file_problem(library: Path, rel: bytes, expected: Fingerprint | None = None) -> str | None:
    """Why ``rel`` is not (any more) the regular file the index recorded; None when it is."""
    try:
        folder = check_folders(library, rel)
    except UnsafePath as exc:
        return str(exc)
    path = folder / os.fsdecode(_components(rel)[-1])
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "file no longer exists"
    if stat.S_ISLNK(st.st_mode):
        return "is now a symlink"
    if not stat.S_ISREG(st.st_mode):
        return "is not a regular file any more"
    if expected is None:
        return None
    if st.st_size != expected.size:
        return f"size changed ({expected.size} -> {st.st_size} bytes)"
    if st.st_mtime_ns != expected.mtime_ns:
        return "modified since the scan (mtime changed)"
    if sha256_file(path) != expected.sha256:
        return "content changed since the scan (sha256 differs)"
    return None


def restore_target(library: Path, rel: bytes) -> Path:
    """Where an undo may put ``rel`` back: its real folder in the library (made if missing)."""
    folder = check_folders(library, rel, create=True)
    return folder / os.fsdecode(_components(rel)[-1])


def identity(path: Path) -> tuple[int, int] | None:
    """(st_dev, st_ino) of ``path`` without following a link; None if it is gone."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino
