"""From candidate pairs to links: verification decides, the older signals are the fallback.

For each candidate pair (any source in :mod:`photodup.finder.verify.candidates`):

- both photos have features: the verdict of :func:`~photodup.finder.verify.decide.decide`.
  A duplicate becomes a ``verified`` link; a similar shot goes to the similar list; a
  conclusive "no" (enough matches but too little shared area: a detail, a tile) drops the
  pair even if a hash agreed. Too few matches to say (flat or tiny photos) falls back;
- otherwise (no features: a single-colour photo, a file gone since the scan) the pair
  keeps the links of the older signals (pHash within ``phash_distance``, embeddings when
  used); a burst-only pair is a similar shot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from photodup.finder.verify.cache import NodeFeatures
from photodup.finder.verify.decide import Rule, Verdict, decide
from photodup.finder.verify.match import Evidence, verify_pair

#: Older signals that link a pair on their own when verification cannot decide.
FALLBACK_SIGNALS = ("phash", "embedding")
#: A photo with fewer points than this (flat, tiny, blurred) cannot be verified reliably:
#: too few matches then means "cannot say", not "different".
SCARCE_POINTS = 64


@dataclass
class Verifier:
    """Evidence per node pair, from the cache or computed (and then remembered as new)."""

    shas: list[str]
    features: NodeFeatures
    cached: dict[tuple[str, str], Evidence]
    rule: Rule
    captured_s: np.ndarray
    new: list[tuple[str, str, Evidence]] = field(default_factory=list)
    computed: int = 0

    def evidence(self, x: int, y: int) -> Evidence | None:
        """Evidence with A = the node whose SHA-256 sorts first; None without features."""
        if self.shas[y] < self.shas[x]:
            x, y = y, x
        key = (self.shas[x], self.shas[y])
        found = self.cached.get(key)
        if found is not None:
            return found
        fa, fb = self.features.get(x), self.features.get(y)
        if fa is None or fb is None or fa.empty or fb.empty:
            return None
        ev = verify_pair(fa, fb)
        self.computed += 1
        self.cached[key] = ev
        self.new.append((*key, ev))
        return ev

    def verdict(self, x: int, y: int) -> tuple[Verdict, Evidence] | None:
        ev = self.evidence(x, y)
        if ev is None:
            return None
        gap = float(self.captured_s[x] - self.captured_s[y])
        return decide(ev, self.rule, time_gap_s=gap if not math.isnan(gap) else math.nan), ev

    def scarce(self, x: int, y: int) -> bool:
        counts = self.features.counts
        return int(min(counts[x], counts[y])) < SCARCE_POINTS

    def inconclusive(self, x: int, y: int, verdict: Verdict, ev: Evidence) -> bool:
        """Too few matches to say, on photos with too few points: fall back."""
        return inconclusive(verdict, ev, self.rule) and self.scarce(x, y)

    def groupable(self, x: int, y: int, min_coverage: float) -> bool | None:
        """May x and y share a group (each linked to someone in it)?

        False for a similar shot or a part (enough matches, too little shared area: a tile),
        True when the matches agree over enough area, None when there are too few matches
        to say (hard pairs such as a 30 % crop against a messenger-sized copy)."""
        result = self.verdict(x, y)
        if result is None:
            return None
        verdict, ev = result
        if verdict.similar:
            return False
        if verdict.duplicate:
            return True
        if ev.inliers >= self.rule.min_inliers:
            return min(ev.coverage_a, ev.coverage_b) >= min_coverage
        return None

    def oriented(self, x: int, y: int) -> Evidence | None:
        """Evidence with A = node ``x``."""
        ev = self.evidence(x, y)
        if ev is None or self.shas[x] <= self.shas[y]:
            return ev
        return swapped(ev)


def swapped(ev: Evidence) -> Evidence:
    """The same evidence seen from the other photo."""
    return Evidence(
        matches=ev.matches,
        inliers=ev.inliers,
        coverage_a=ev.coverage_b,
        coverage_b=ev.coverage_a,
        scale=1.0 / ev.scale if ev.scale else ev.scale,
        rotation=-ev.rotation if not ev.mirrored else ev.rotation,
        mirrored=ev.mirrored,
        residual=ev.residual,
        spread=ev.spread,
        near_miss=ev.near_miss,
        region_a=ev.region_b,
        region_b=ev.region_a,
    )


@dataclass
class Links:
    duplicate: dict[int, dict[str, float]] = field(default_factory=dict)
    similar: dict[int, str] = field(default_factory=dict)  # key -> why
    rejected: int = 0


def inconclusive(verdict: Verdict, ev: Evidence, rule: Rule) -> bool:
    """Too few matches to say either way (the pair falls back to its other signals)."""
    return not verdict.duplicate and not verdict.similar and ev.inliers < rule.min_inliers


def link_candidates(
    n: int, candidates: dict[int, dict[str, float]], verifier: Verifier | None
) -> Links:
    out = Links()
    for key, sources in candidates.items():
        x, y = divmod(key, n)
        fallback = {s: v for s, v in sources.items() if s in FALLBACK_SIGNALS}
        result = verifier.verdict(x, y) if verifier is not None else None
        if result is None or verifier.inconclusive(x, y, *result):  # type: ignore[union-attr]
            if fallback:
                out.duplicate[key] = fallback
            elif "burst" in sources:
                out.similar[key] = "same camera, seconds apart"
            continue
        verdict, ev = result
        if verdict.duplicate:
            # Score: the shared area, discounted by near misses, so that copies merge
            # before look-alike shots in complete linkage (strongest first).
            quality = min(ev.coverage_a, ev.coverage_b) * (1.0 - ev.near_miss)
            out.duplicate[key] = {**fallback, "verified": round(quality, 6)}
        elif verdict.similar:
            out.similar[key] = verdict.reason
        else:
            out.rejected += 1
    return out
