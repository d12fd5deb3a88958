"""Geometric verification of one pair: ratio-tested matches, a robust similarity transform.

Descriptors of A are matched to those of B (and of B's mirror image); a RANSAC similarity
transform (``cv2.estimateAffinePartial2D``: scale, rotation, shift) is fitted to the matches.
From the fit comes the evidence kept on the pair: how many matches agree with it (inliers),
how much of each photo the other one covers (the overlap of the two frames under the
transform), the scale, the rotation, whether the copy is mirrored, the residual error and
the matched region of each photo (the outline drawn on the group page).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from photodup.finder.candidates import faiss
from photodup.finder.verify.features import Features

#: Lowe's ratio: the best match must be clearly better than the second best.
RATIO = 0.8
#: RANSAC inlier distance, pixels at the feature scale (longer side 480).
REPROJ_PX = 4.0
_MIN_MATCHES = 6
#: The first (strongest) points looked at, and the matches among them that let the rest
#: be looked at too: a copy has a dozen or more there, an unrelated photo 0 or 1.
_FIRST, _FIRST_MATCHES = 64, 2
#: Both photos are scaled to the same size, so a copy's content is at most a few times
#: larger or smaller; a fit outside [MIN_SCALE, 1/MIN_SCALE] is degenerate.
MIN_SCALE = 0.2


@dataclass(frozen=True)
class Evidence:
    """What verification found for a pair (A = the first photo, B = the second)."""

    matches: int  # descriptor matches that passed the ratio test
    inliers: int  # of those, the ones the fitted transform explains
    coverage_a: float  # share of A's area that B also shows, in [0, 1]
    coverage_b: float  # share of B's area that A also shows
    scale: float  # B's content size over A's (both at the feature scale)
    rotation: float  # degrees, counter-clockwise, in (-180, 180]
    mirrored: bool
    residual: float  # median distance of inliers to the fit, pixels at the feature scale
    spread: float  # inlier hull area over the overlap area (the smaller of the two photos)
    #: share of the matches just outside the fit (1-6 times the inlier distance): near zero
    #: for a copy (wrong matches land anywhere), high for parallax or motion (similar shots)
    near_miss: float = 0.0
    region_a: tuple[tuple[float, float], ...] = ()  # overlap outline in A, fractions of w/h
    region_b: tuple[tuple[float, float], ...] = ()

    @property
    def inlier_ratio(self) -> float:
        return self.inliers / self.matches if self.matches else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["region_a"] = [list(p) for p in self.region_a]
        d["region_b"] = [list(p) for p in self.region_b]
        return d

    def to_json(self) -> str:
        """Compact text for the cache: a pair with few matches keeps only its counts
        ("matches,inliers"), the others JSON (:meth:`from_text` reads both)."""
        if self.inliers < 8:
            return f"{self.matches},{self.inliers}"
        d = self.to_dict()
        for k in ("coverage_a", "coverage_b", "scale", "rotation", "residual", "spread"):
            d[k] = round(d[k], 4)
        d["near_miss"] = round(d["near_miss"], 4)
        return json.dumps(d, separators=(",", ":"))

    @classmethod
    def from_text(cls, text: str) -> Evidence:
        if not text.startswith("{"):
            m, i = text.split(",")
            return cls(int(m), int(i), 0.0, 0.0, 1.0, 0.0, False, math.inf, 0.0)
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Evidence:
        if "coverage_a" not in d:
            return cls(
                int(d["matches"]), int(d["inliers"]), 0.0, 0.0, 1.0, 0.0, False, math.inf, 0.0
            )
        fields = dict(d)
        fields["region_a"] = tuple(tuple(p) for p in d.get("region_a", ()))
        fields["region_b"] = tuple(tuple(p) for p in d.get("region_b", ()))
        return cls(**fields)


NO_MATCH = Evidence(0, 0, 0.0, 0.0, 1.0, 0.0, False, math.inf, 0.0)


@contextmanager
def one_thread() -> Iterator[None]:
    """faiss on one thread while pairs are matched: each search is tiny, and OpenMP's
    start-up per call cost 100x the search itself on the 2-core machine (measured)."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _ratio_matches(da: np.ndarray, db: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(da) < 2 or len(db) < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    if da.dtype == np.uint8 and da.shape[1] % 8 == 0:
        # faiss's popcount search: measured 4x faster than cv2.BFMatcher here (docs/finder.md)
        index = faiss.IndexBinaryFlat(da.shape[1] * 8)
        index.add(np.ascontiguousarray(db))
        dist, ids = index.search(np.ascontiguousarray(da), 2)
        good = dist[:, 0] < RATIO * dist[:, 1]
        return np.flatnonzero(good).astype(np.int64), ids[good, 0].astype(np.int64)
    norm = cv2.NORM_HAMMING if da.dtype == np.uint8 else cv2.NORM_L2
    knn = cv2.BFMatcher(norm).knnMatch(da, db, k=2)
    kept = [m[0] for m in knn if len(m) == 2 and m[0].distance < RATIO * m[1].distance]
    qa = np.array([m.queryIdx for m in kept], dtype=np.int64)
    tb = np.array([m.trainIdx for m in kept], dtype=np.int64)
    return qa, tb


def _rect(w: int, h: int) -> np.ndarray:
    return np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return (pts @ m[:, :2].T + m[:, 2]).astype(np.float32)


def _invert(m: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(m)


def _area(poly: np.ndarray) -> float:
    return float(cv2.contourArea(poly.reshape(-1, 1, 2))) if len(poly) >= 3 else 0.0


def _near_miss(pa: np.ndarray, pb: np.ndarray, errors: np.ndarray, inliers: int) -> float:
    """Share of matches a few pixels off, under the best *homography*: a copy (even one
    whose similarity fit is slightly off, or straightened in perspective) leaves almost
    none; parallax or motion cannot be explained by any single plane and leaves many."""
    near = (errors > REPROJ_PX) & (errors <= 6 * REPROJ_PX)
    if inliers < 8 or not near.any():
        return float(np.mean(near))
    h, _ = cv2.findHomography(pa, pb, cv2.RANSAC, REPROJ_PX, maxIters=1000, confidence=0.995)
    if h is None:
        return float(np.mean(near))
    projected = cv2.perspectiveTransform(pa.reshape(-1, 1, 2), h).reshape(-1, 2)
    err_h = np.linalg.norm(projected - pb, axis=1)
    return float(np.mean((err_h > REPROJ_PX) & (err_h <= 6 * REPROJ_PX)))


def _fit(pa: np.ndarray, pb: np.ndarray, a: Features, bw: int, bh: int, mirrored: bool) -> Evidence:
    """Fit A -> B on matched points; ``bw, bh`` the size of B's (maybe mirrored) image."""
    m, mask = cv2.estimateAffinePartial2D(
        pa, pb, method=cv2.RANSAC, ransacReprojThreshold=REPROJ_PX, maxIters=2000,
        confidence=0.995, refineIters=10,
    )  # fmt: skip
    if m is None or mask is None:
        return NO_MATCH
    inl = mask.ravel().astype(bool)
    scale = float(math.hypot(m[0, 0], m[1, 0]))
    if not inl.any() or not MIN_SCALE <= scale <= 1.0 / MIN_SCALE:
        # A collapsed fit maps every point into a few pixels, where all of them "agree".
        return _with_matches(len(pa), mirrored)
    rotation = math.degrees(math.atan2(m[1, 0], m[0, 0]))
    errors = np.linalg.norm(_apply(m, pa) - pb, axis=1)
    residual = float(np.median(errors[inl]))
    near = _near_miss(pa, pb, errors, int(inl.sum()))
    # The overlap: A's frame mapped into B, clipped to B's frame, and mapped back into A.
    rect_b = _rect(bw, bh)
    _, poly_b = cv2.intersectConvexConvex(_apply(m, _rect(a.width, a.height)), rect_b)
    poly_b = np.empty((0, 2), np.float32) if poly_b is None else poly_b.reshape(-1, 2)
    poly_a = _apply(_invert(m), poly_b) if len(poly_b) else poly_b
    over_a, over_b = _area(poly_a), _area(poly_b)
    hull_a = _area(cv2.convexHull(pa[inl])) if inl.sum() >= 3 else 0.0
    hull_b = _area(cv2.convexHull(pb[inl])) if inl.sum() >= 3 else 0.0
    spread = min(hull_a / over_a if over_a else 0.0, hull_b / over_b if over_b else 0.0)
    if mirrored:  # report B's outline in B's own (unmirrored) coordinates
        poly_b = np.column_stack([bw - poly_b[:, 0], poly_b[:, 1]]) if len(poly_b) else poly_b
    return Evidence(
        matches=len(pa),
        inliers=int(inl.sum()),
        coverage_a=min(1.0, over_a / (a.width * a.height)),
        coverage_b=min(1.0, over_b / (bw * bh)),
        scale=scale,
        rotation=rotation,
        mirrored=mirrored,
        residual=residual,
        spread=min(1.0, spread),
        near_miss=near,
        region_a=_outline(poly_a, a.width, a.height),
        region_b=_outline(poly_b, bw, bh),
    )


def _outline(poly: np.ndarray, w: int, h: int) -> tuple[tuple[float, float], ...]:
    return tuple((round(float(x) / w, 4), round(float(y) / h, 4)) for x, y in poly)


def _one_way(
    a: Features, pts_b: np.ndarray, desc_b: np.ndarray, b: Features, mirrored: bool
) -> Evidence:
    # The strongest points first: an unrelated pair (most candidates) stops there.
    # Both ways: when B is a crop of A, A's strongest points may all lie outside it.
    qa, tb = _ratio_matches(a.descriptors[:_FIRST], desc_b)
    if len(qa) < _FIRST_MATCHES:
        back, _ = _ratio_matches(desc_b[:_FIRST], a.descriptors)
        if len(back) < _FIRST_MATCHES:
            n = max(len(qa), len(back))
            return NO_MATCH if not n else _with_matches(n, mirrored)
    if len(a.descriptors) > _FIRST:
        qr, tr = _ratio_matches(a.descriptors[_FIRST:], desc_b)
        qa, tb = np.concatenate([qa, qr + _FIRST]), np.concatenate([tb, tr])
    if len(qa) < _MIN_MATCHES:
        return NO_MATCH if not len(qa) else _with_matches(len(qa), mirrored)
    return _fit(a.points[qa], pts_b[tb], a, b.width, b.height, mirrored)


def _with_matches(n: int, mirrored: bool) -> Evidence:
    return Evidence(n, 0, 0.0, 0.0, 1.0, 0.0, mirrored, math.inf, 0.0)


def verify_pair(a: Features, b: Features, *, mirror: bool = True) -> Evidence:
    """Evidence for A ~ B: the straight match, or the mirrored one if it explains more."""
    straight = _one_way(a, b.points, b.descriptors, b, mirrored=False)
    if not mirror or straight.inliers >= 60 or not len(b.mirror_points):
        return straight
    flipped = _one_way(a, b.mirror_points, b.mirror_descriptors, b, mirrored=True)
    return flipped if flipped.inliers > straight.inliers else straight
