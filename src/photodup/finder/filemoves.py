"""Moving one file without ever overwriting or losing anything.

Two routes: on one filesystem an atomic ``os.rename``; across filesystems a copy that is
fsynced and verified by sha256 before the source is removed. Both first *claim* the
destination name with ``O_CREAT | O_EXCL``, so a file that already sits there (or appears
while we work) is never replaced: the claim fails and a suffixed name is tried instead.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

#: Files that belong to a photo and travel with it: editor sidecars (XMP), Apple edit
#: recipes (AAE) and the video half of a Live Photo (MOV). Matched case-insensitively.
SIDECAR_SUFFIXES = (".xmp", ".aae", ".mov")

_CHUNK = 1 << 20


class MoveError(OSError):
    """A file could not be moved safely; the source is left untouched."""


@dataclass(frozen=True)
class Fingerprint:
    """What the index recorded about a file when it was scanned."""

    size: int
    mtime_ns: int
    sha256: str


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def changed_since(path: Path, expected: Fingerprint) -> str | None:
    """Why ``path`` no longer matches the index, or None when it still does.

    Size and mtime are cheap and catch most edits; the hash catches an edit that kept both
    (some tools restore mtime), so it is checked too.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        return "file no longer exists"
    if st.st_size != expected.size:
        return f"size changed ({expected.size} -> {st.st_size} bytes)"
    if st.st_mtime_ns != expected.mtime_ns:
        return "modified since the scan (mtime changed)"
    if sha256_file(path) != expected.sha256:
        return "content changed since the scan (sha256 differs)"
    return None


def find_sidecars(photo: Path) -> list[Path]:
    """Sidecars of ``photo`` in its folder: ``IMG_1.xmp``, ``IMG_1.JPG.xmp``, ``IMG_1.MOV``..."""
    try:
        siblings = list(photo.parent.iterdir())
    except OSError:
        return []
    stem, name = photo.stem.lower(), photo.name.lower()
    found = []
    for sib in siblings:
        if sib == photo or not sib.is_file():
            continue
        low = sib.name.lower()
        for suffix in SIDECAR_SUFFIXES:
            if low in (stem + suffix, name + suffix):
                found.append(sib)
    return sorted(found)


def _claim(dst: Path) -> None:
    """Create ``dst`` empty and exclusively; FileExistsError if anything is there."""
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)


def claim_free_name(dst: Path) -> Path:
    """Claim ``dst`` or the first free ``name~N.ext`` beside it; returns the claimed path."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    candidate = dst
    for n in range(1, 10_000):
        try:
            _claim(candidate)
            return candidate
        except FileExistsError:
            candidate = dst.with_name(f"{dst.stem}~{n}{dst.suffix}")
    raise MoveError(errno.EEXIST, f"no free name for {dst} after 10000 tries")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems cannot fsync a directory; the file itself was synced
    finally:
        os.close(fd)


def _copy_verified(src: Path, dst: Path, expected_sha: str | None) -> str:
    """Copy into the already-claimed ``dst``, fsync, and check the copy's hash."""
    digest = hashlib.sha256()
    with src.open("rb") as fin, dst.open("r+b") as fout:
        fout.truncate(0)
        while chunk := fin.read(_CHUNK):
            digest.update(chunk)
            fout.write(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    source_sha = digest.hexdigest()
    if expected_sha is not None and source_sha != expected_sha:
        raise MoveError(errno.EIO, f"{src} changed while it was being copied")
    copied_sha = sha256_file(dst)
    if copied_sha != source_sha:
        raise MoveError(errno.EIO, f"copy of {src} at {dst} does not match the original")
    shutil.copystat(src, dst)  # keep mtime so the file still matches the index after undo
    _fsync_dir(dst.parent)
    return source_sha


def same_filesystem(src: Path, dst_dir: Path) -> bool:
    probe = dst_dir
    while not probe.exists():
        probe = probe.parent
    return os.stat(src).st_dev == os.stat(probe).st_dev


def claim_destination(dst: Path, *, exact: bool = False) -> Path:
    """Reserve ``dst`` (or, unless ``exact``, a suffixed free name) with an empty file.

    ``exact`` raises FileExistsError when ``dst`` is taken: a restore must land on the
    original path or not at all.
    """
    if exact:
        dst.parent.mkdir(parents=True, exist_ok=True)
        _claim(dst)
        return dst
    return claim_free_name(dst)


def move_into_claim(
    src: Path, target: Path, *, expected_sha: str | None = None, force_copy: bool = False
) -> str:
    """Move ``src`` onto the empty ``target`` we claimed; returns the route taken.

    ``force_copy`` takes the cross-filesystem route even on one filesystem, so tests can
    exercise it anywhere. On failure ``target`` is released and ``src`` is untouched.
    """
    moved = False
    try:
        if not force_copy and same_filesystem(src, target.parent):
            # Replacing our own empty claim is the only overwrite rename can do here.
            os.rename(src, target)
            moved = True
            _fsync_dir(target.parent)
            return "rename"
        _copy_verified(src, target, expected_sha)
        src.unlink()
        moved = True
        _fsync_dir(src.parent)
        return "copy"
    finally:
        # Until the move is complete ``target`` holds only our claim or a partial copy.
        if not moved:
            target.unlink(missing_ok=True)


def move_file(
    src: Path,
    dst: Path,
    *,
    expected_sha: str | None = None,
    force_copy: bool = False,
    exact: bool = False,
) -> tuple[Path, str]:
    """Claim ``dst`` (see :func:`claim_destination`) and move ``src`` there: (path, route)."""
    target = claim_destination(dst, exact=exact)
    return target, move_into_claim(src, target, expected_sha=expected_sha, force_copy=force_copy)
