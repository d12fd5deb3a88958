"""Build a labelled sample library from real photos: originals, derived copies, a burst, bad files.

Used by ``photodup eval`` (the labels give the ground truth) and by ``make demo``. The
labels are written to ``manifest.json`` in the library; the scan ignores that file (it is
not an image and has no image extension).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image

from photodup.finder.derive import DERIVATIONS, derive, encode
from photodup.finder.sources import COLOUR_PHOTOS, REAL_PHOTOS, load_real_photo

_EXIF_IFD, _DATETIME_ORIGINAL, _MAKE, _MODEL = 0x8769, 0x9003, 0x010F, 0x0110
_CAMERAS = (("Canon", "Canon EOS 80D"), ("Apple", "iPhone 13"), ("FUJIFILM", "X-T3"))
_FIRST_SHOT = datetime(2024, 5, 1, 9, 30, 0)
#: Photos that get no derived copies: distinct images, some of similar subjects (textures,
#: greyscale scenes), so every copy has unrelated look-alikes to be confused with.
DISTRACTORS = tuple(n for n in REAL_PHOTOS if n not in COLOUR_PHOTOS and n != "motorcycle_right")
BURST = ("motorcycle_left", "motorcycle_right")
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class SampleFile:
    path: str  # relative to the library root
    source: str  # the real photo it shows; files sharing a source are duplicates
    kind: str  # original, exact_copy, burst, a derivation name, or bad_* for broken files


@dataclass
class SampleLibrary:
    root: Path
    files: list[SampleFile] = field(default_factory=list)

    def photos(self) -> list[SampleFile]:
        return [f for f in self.files if not f.kind.startswith("bad_")]


def camera_exif(index: int, taken: datetime) -> Image.Exif:
    """EXIF a camera would write: make, model and capture time."""
    exif = Image.Exif()
    make, model = _CAMERAS[index % len(_CAMERAS)]
    exif[_MAKE], exif[_MODEL] = make, model
    exif.get_ifd(_EXIF_IFD)[_DATETIME_ORIGINAL] = taken.strftime("%Y:%m:%d %H:%M:%S")
    return exif


def _write(root: Path, rel: str, data: bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _bad_files(root: Path, good_jpeg: bytes) -> list[SampleFile]:
    files = {
        "incoming/empty.jpg": (b"", "bad_empty"),
        "incoming/truncated.jpg": (good_jpeg[: len(good_jpeg) // 2], "bad_truncated"),
        "incoming/notes.jpg": (b"shopping list: milk, eggs, film\n" * 4, "bad_not_an_image"),
    }
    for rel, (data, _) in files.items():
        _write(root, rel, data)
    return [SampleFile(rel, "", kind) for rel, (_, kind) in files.items()]


def build_sample_library(
    dest: str | Path,
    *,
    photos: Sequence[str] = COLOUR_PHOTOS,
    kinds: Sequence[str] | None = None,
    distractors: Sequence[str] = DISTRACTORS,
    burst: bool = True,
    exact_copies: bool = True,
    bad_files: bool = True,
    negatives: Sequence[str] = (),
) -> SampleLibrary:
    """Write originals of ``photos`` with every derivation in ``kinds`` (default: all).

    Layout: ``originals/`` (JPEG with camera EXIF), ``copies/<kind>/``, ``backup/`` (byte
    identical copies), ``burst/``, ``others/`` (distractors) and ``incoming/`` (bad files).
    ``negatives`` (names in :data:`~photodup.finder.derive.NEGATIVES`) go to
    ``negatives/<kind>/``: made from a photo, but not duplicates of it.
    """
    root = Path(dest)
    root.mkdir(parents=True, exist_ok=True)
    kinds = list(DERIVATIONS) if kinds is None else list(kinds)
    lib = SampleLibrary(root)
    taken = _FIRST_SHOT
    for i, name in enumerate(photos):
        img = load_real_photo(name).convert("RGB")
        taken += timedelta(days=1, minutes=17 * i)
        original = encode(img, "JPEG", quality=95, exif=camera_exif(i, taken))
        _write(root, f"originals/{name}.jpg", original)
        lib.files.append(SampleFile(f"originals/{name}.jpg", name, "original"))
        if exact_copies:
            _write(root, f"backup/{name}.jpg", original)
            lib.files.append(SampleFile(f"backup/{name}.jpg", name, "exact_copy"))
        for kind in kinds:
            data, ext = derive(img, kind)
            rel = f"copies/{kind}/{name}{ext}"
            _write(root, rel, data)
            lib.files.append(SampleFile(rel, name, kind))
        for kind in negatives:
            data, ext = derive(img, kind)
            rel = f"negatives/{kind}/{name}{ext}"
            _write(root, rel, data)
            lib.files.append(SampleFile(rel, name, kind))
        if burst and name == BURST[0]:
            # The stereo pair: the same scene a moment later, same camera, one second apart.
            second = load_real_photo(BURST[1]).convert("RGB")
            exif = camera_exif(i, taken + timedelta(seconds=1))
            _write(root, f"burst/{BURST[1]}.jpg", encode(second, "JPEG", quality=95, exif=exif))
            lib.files.append(SampleFile(f"burst/{BURST[1]}.jpg", name, "burst"))
    for j, name in enumerate(distractors):
        img = load_real_photo(name).convert("RGB")
        exif = camera_exif(j + 1, _FIRST_SHOT + timedelta(days=40 + j))
        _write(root, f"others/{name}.jpg", encode(img, "JPEG", quality=92, exif=exif))
        lib.files.append(SampleFile(f"others/{name}.jpg", name, "original"))
    if bad_files:
        lib.files.extend(_bad_files(root, (root / lib.files[0].path).read_bytes()))
    manifest = {"files": [asdict(f) for f in lib.files]}
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return lib


def read_sample_library(root: str | Path) -> SampleLibrary:
    """Load the labels of a library written by :func:`build_sample_library`."""
    root = Path(root)
    data = json.loads((root / MANIFEST).read_text())
    return SampleLibrary(root, [SampleFile(**f) for f in data["files"]])


def reset_library(root: Path) -> None:
    """Remove a sample library (only folders that contain our manifest)."""
    if (root / MANIFEST).is_file():
        shutil.rmtree(root)
