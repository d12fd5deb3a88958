"""Moving one file without ever overwriting or losing anything.

Two routes: on one filesystem an atomic ``os.rename``; across filesystems a copy into a
temporary name beside the destination, fsynced, verified by SHA-256 and renamed into place
before the source is removed, so the destination never holds a partial file. Both first
*claim* the destination name with ``O_CREAT | O_EXCL``, so a file that already sits there
(or appears while we work) is never replaced: the claim fails and a suffixed name is tried.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from photodup.finder import faultpoint

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


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def sidecar_owner_names(sidecar: Path) -> set[str]:
    """Lower-case names (or stems) a photo needs to own ``sidecar``: ``x.jpg.xmp`` -> x.jpg."""
    low = sidecar.name.lower()
    for suffix in SIDECAR_SUFFIXES:
        if low.endswith(suffix):
            return {low[: -len(suffix)]}
    return set()


def find_sidecars(photo: Path, *, exclude: Collection[Path] = ()) -> list[Path]:
    """Sidecars of ``photo`` in its folder: ``IMG_1.xmp``, ``IMG_1.JPG.xmp``, ``IMG_1.MOV``...

    Only regular files (never a symlink) with a sidecar extension qualify, and never a path
    in ``exclude``: the caller passes the keeper and every indexed photo, so a photo that
    happens to be named like a sidecar (a JPEG saved as ``IMG_1.mov``) is never taken for one.
    """
    try:
        siblings = list(photo.parent.iterdir())
    except OSError:
        return []
    stem, name = photo.stem.lower(), photo.name.lower()
    excluded = set(exclude)
    found = []
    for sib in siblings:
        if sib == photo or sib in excluded or not _is_regular(sib):
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


def claim_free_name(dst: Path, before: Callable[[Path], None] | None = None) -> Path:
    """Claim ``dst`` or the first free ``name~N.ext`` beside it; returns the claimed path.

    ``before(candidate)`` runs before each attempt (the journal records the name first).
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    candidate = dst
    for n in range(1, 10_000):
        try:
            if os.path.lexists(candidate):
                raise FileExistsError(candidate)  # taken: not even journalled as ours
            if before is not None:
                before(candidate)
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


def part_path(target: Path) -> Path:
    """The temporary name a cross-filesystem copy is written under before it is placed."""
    return target.with_name(f".{target.name}.photodup-part")


def _copy_to_part(src: Path, part: Path, expected_sha: str | None, point: str) -> str:
    """Copy ``src`` into a new exclusive ``part`` file, fsynced; returns the source's sha256."""
    digest = hashlib.sha256()
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with src.open("rb") as fin, os.fdopen(fd, "wb") as fout:
        while chunk := fin.read(_CHUNK):
            digest.update(chunk)
            fout.write(chunk)
            fout.flush()
            faultpoint.reached(f"{point}copying")
        os.fsync(fout.fileno())
    source_sha = digest.hexdigest()
    if expected_sha is not None and source_sha != expected_sha:
        raise MoveError(errno.EIO, f"{src} changed while it was being copied")
    shutil.copystat(src, part)  # keep mtime so the file still matches the index after undo
    return source_sha


def _place(part: Path, target: Path, source_sha: str) -> None:
    """Check the copy's hash, then rename it over our own empty claim ``target``."""
    if sha256_file(part) != source_sha:
        raise MoveError(errno.EIO, f"copy at {part} does not match the original")
    st = os.lstat(target)
    if not stat.S_ISREG(st.st_mode) or st.st_size != 0:
        # Only our empty claim may be replaced; anything else appeared there meanwhile.
        raise MoveError(errno.EEXIST, f"{target} was taken by another file during the copy")
    os.rename(part, target)
    _fsync_dir(target.parent)


def same_filesystem(src: Path, dst_dir: Path) -> bool:
    probe = dst_dir
    while not probe.exists():
        probe = probe.parent
    return os.stat(src).st_dev == os.stat(probe).st_dev


def claim_destination(
    dst: Path, *, exact: bool = False, before: Callable[[Path], None] | None = None
) -> Path:
    """Reserve ``dst`` (or, unless ``exact``, a suffixed free name) with an empty file.

    ``exact`` raises FileExistsError when ``dst`` is taken: a restore must land on the
    original path or not at all.
    """
    if exact:
        dst.parent.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(dst):
            raise FileExistsError(errno.EEXIST, f"{dst} exists")
        if before is not None:
            before(dst)
        _claim(dst)
        return dst
    return claim_free_name(dst, before)


Step = Callable[[str], None]


def _noop(step: str) -> None:
    pass


def move_into_claim(
    src: Path,
    target: Path,
    *,
    expected_sha: str | None = None,
    force_copy: bool = False,
    journal: Step = _noop,
    point: str = "",
) -> str:
    """Move ``src`` onto the empty ``target`` we claimed; returns the route taken.

    Same filesystem: one atomic rename. Otherwise: copy into :func:`part_path`, fsync,
    ``journal("copied")``, verify the hash and rename the copy onto the claim,
    ``journal("verified")``, remove the source. ``journal`` is called *before* the step it
    names takes effect on disk is relied upon, so a crash between any two steps leaves the
    journal saying enough for :mod:`photodup.finder.journal` to finish or undo the move.
    ``point`` prefixes the fault points (``restore_`` during undo). ``force_copy`` takes the
    copy route on one filesystem too, so tests can exercise it anywhere. On failure the
    claim and any partial copy are removed and ``src`` is untouched.
    """
    placed = removed = False
    part = part_path(target)
    try:
        if not force_copy and same_filesystem(src, target.parent):
            # Replacing our own empty claim is the only overwrite rename can do here.
            os.rename(src, target)
            placed = removed = True
            _fsync_dir(target.parent)
            faultpoint.reached(f"{point}renamed")
            return "rename"
        part.unlink(missing_ok=True)  # debris of an earlier crash: only we use this name
        source_sha = _copy_to_part(src, part, expected_sha, point)
        journal("copied")
        faultpoint.reached(f"{point}copied")
        _place(part, target, source_sha)
        placed = True
        journal("verified")
        faultpoint.reached(f"{point}verified")
        src.unlink()
        removed = True
        _fsync_dir(src.parent)
        faultpoint.reached(f"{point}removed")
        return "copy"
    finally:
        part.unlink(missing_ok=True)
        if not placed:
            # Until the copy is placed ``target`` holds only our empty claim.
            _release_claim(target)
        elif not removed and src.exists():
            # The source could not be removed: it is still whole, so drop our verified copy.
            target.unlink(missing_ok=True)


def _release_claim(target: Path) -> None:
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return
    if stat.S_ISREG(st.st_mode) and st.st_size == 0:
        target.unlink()


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
