"""Local features of one photo, computed once per distinct content and stored compactly.

The photo is scaled so its longer side is :data:`FEATURE_SIDE` pixels, converted to grey, and
OpenCV's detector (ORB by default, chosen by measurement: docs/finder.md) finds keypoints
and binary descriptors, for the photo and for its mirror image (descriptors are not mirror
invariant, so a mirrored copy needs the mirrored photo's own). Alongside go the perceptual
hashes of the photo mirrored and turned by 90/180/270 degrees, which feed candidate search.

Storage (:func:`pack` / :func:`unpack`): point coordinates as uint16 in 1/64 pixel, 32-byte
descriptors, both arrays prefixed by a small header. 208 + 80 points make 10.4 KB (2 KB in
the row, two SQLite overflow pages).
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass

import cv2
import imagehash
import numpy as np
from PIL import Image, ImageOps

log = logging.getLogger(__name__)

#: The longer side of the image features are computed on.
FEATURE_SIDE = 480
#: Bumped whenever what :func:`extract` computes changes; stored features of another
#: version are recomputed.
FEATURES_VERSION = 2
_HEADER = struct.Struct("<BHHHH")  # version, width, height, points, mirrored points
_SUBPIXEL = 64.0  # coordinates are stored in 1/64 pixel: 480 * 64 fits in uint16


@dataclass(frozen=True)
class Features:
    """Keypoints (x, y in the scaled image) and descriptors of a photo and of its mirror."""

    width: int  # of the scaled image
    height: int
    points: np.ndarray  # float32 [n, 2]
    descriptors: np.ndarray  # uint8 [n, d]
    mirror_points: np.ndarray  # float32 [m, 2], in the mirrored image's coordinates
    mirror_descriptors: np.ndarray  # uint8 [m, d]

    @property
    def empty(self) -> bool:
        return len(self.points) == 0


@dataclass(frozen=True)
class Extracted:
    """What a scan worker computes from the decoded photo: features and hash variants."""

    features: Features
    #: pHash of the photo mirrored, and turned by 90, 180 and 270 degrees (uint64 each).
    variant_hashes: tuple[int, int, int, int]


def _detector(kind: str, n: int) -> cv2.Feature2D:
    if kind == "orb":
        # fastThreshold lowered so flat or small photos still yield points.
        return cv2.ORB.create(nfeatures=n, fastThreshold=10, edgeThreshold=15, patchSize=31)
    if kind == "akaze":
        return cv2.AKAZE.create(threshold=0.0005)
    if kind == "sift":
        return cv2.SIFT.create(nfeatures=n)
    raise ValueError(f"unknown feature detector {kind!r}; choose orb, akaze or sift")


def scaled_grey(img: Image.Image, side: int = FEATURE_SIDE) -> np.ndarray:
    """The photo as a uint8 grey array whose longer side is ``side``.

    Small photos (messenger copies, thumbnails) are enlarged too: at their own size they
    yield too few points, and the same scale for everyone keeps thresholds in pixels fair.
    """
    grey = img.convert("L")
    scale = side / max(grey.size)
    if scale != 1.0:
        size = (max(1, round(grey.width * scale)), max(1, round(grey.height * scale)))
        grey = grey.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(grey)


def _detect(grey: np.ndarray, kind: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    width = 61 if kind == "akaze" else 32
    empty = np.empty((0, 2), np.float32), np.empty((0, width), np.uint8)
    if min(grey.shape) < 16:
        return empty  # too small for any descriptor patch
    keypoints, desc = _detector(kind, n).detectAndCompute(grey, None)  # type: ignore[call-overload]
    if desc is None or not keypoints:
        return empty
    # Strongest first (AKAZE has no point budget: keep the n strongest), so that a quick
    # look at the first points can rule out an unrelated pair (match.py).
    order = np.argsort([-k.response for k in keypoints], kind="stable")[:n]
    keypoints, desc = [keypoints[i] for i in order], desc[order]
    pts = np.array([k.pt for k in keypoints], dtype=np.float32).reshape(-1, 2)
    return pts, desc


def compute_features(
    img: Image.Image, *, kind: str = "orb", points: int = 208, mirror_points: int = 80
) -> Features:
    """Features of an upright RGB photo (see the module docstring)."""
    grey = scaled_grey(img)
    pts, desc = _detect(grey, kind, points)
    mpts, mdesc = _detect(np.ascontiguousarray(grey[:, ::-1]), kind, mirror_points)
    return Features(grey.shape[1], grey.shape[0], pts, desc, mpts, mdesc)


def _phash(img: Image.Image) -> int:
    return int(str(imagehash.phash(img)), 16)


def variant_hashes(img: Image.Image) -> tuple[int, int, int, int]:
    """pHash of the mirrored photo and of the photo turned 90, 180 and 270 degrees."""
    small = img.convert("L").resize((64, 64), Image.Resampling.BILINEAR)
    turns = (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270)
    mirrored = _phash(ImageOps.mirror(small))
    r90, r180, r270 = (_phash(small.transpose(t)) for t in turns)
    return mirrored, r90, r180, r270


def extract(img: Image.Image, *, points: int = 208, mirror_points: int = 80) -> Extracted:
    """Called by the scan's workers with the decoded upright photo."""
    feats = compute_features(img, points=points, mirror_points=mirror_points)
    return Extracted(feats, variant_hashes(img))


def safe_extract(img: Image.Image, name: str) -> Extracted | None:
    """:func:`extract` for the scan: a failure is logged with the file name, never raised
    (the photo is still indexed; its pairs use the other signals)."""
    try:
        return extract(img)
    except Exception as exc:  # one odd photo must never stop a scan
        log.warning("%s: no local features: %s: %s", name, type(exc).__name__, exc)
        return None


def pack(f: Features) -> bytes:
    """Compact bytes of ``f`` (ORB: 36 bytes a point plus a 9-byte header)."""

    def coords(p: np.ndarray) -> np.ndarray:
        return np.round(p * _SUBPIXEL).clip(0, 65535).astype("<u2")

    head = _HEADER.pack(FEATURES_VERSION, f.width, f.height, len(f.points), len(f.mirror_points))
    parts = (coords(f.points), f.descriptors, coords(f.mirror_points), f.mirror_descriptors)
    return head + b"".join(np.ascontiguousarray(p).tobytes() for p in parts)


def point_count(data: bytes | None) -> int:
    """Points of the photo (not its mirror) in a packed record, without unpacking it."""
    if not data or len(data) < _HEADER.size:
        return 0
    version, _, _, n, _ = _HEADER.unpack_from(data)
    return int(n) if version == FEATURES_VERSION else 0


def unpack(data: bytes) -> Features:
    """Inverse of :func:`pack`; ``ValueError`` for bytes of another version or truncated."""
    if len(data) < _HEADER.size:
        raise ValueError("features record is truncated")
    version, width, height, n, m = _HEADER.unpack_from(data)
    if version != FEATURES_VERSION:
        raise ValueError(f"features version {version}, expected {FEATURES_VERSION}")
    body = memoryview(data)[_HEADER.size :]
    total = (n + m) * (4 + 32)
    if len(body) != total:
        raise ValueError(f"features record has {len(body)} bytes, expected {total}")

    def take(offset: int, count: int) -> tuple[np.ndarray, np.ndarray, int]:
        pts = np.frombuffer(body, "<u2", count * 2, offset).reshape(-1, 2) / _SUBPIXEL
        offset += count * 4
        desc = np.frombuffer(body, np.uint8, count * 32, offset).reshape(-1, 32)
        return pts.astype(np.float32), desc, offset + count * 32

    pts, desc, off = take(0, n)
    mpts, mdesc, _ = take(off, m)
    return Features(width, height, pts, desc, mpts, mdesc)
