"""The decision on a verified pair: duplicate, similar shot, or unrelated, and its kind.

A pair is a **duplicate** when at least ``min_inliers`` matches agree on one similarity
transform *and* the region the two photos share covers at least ``min_coverage`` of each:
a trimmed copy covers most of its original, a quarter tile enlarged covers a quarter.
It is a **similar shot** instead (a burst, the same scene from a step aside) when

- both photos carry a capture time and the times differ by ``min_shot_gap_s`` or more:
  copies keep the original's capture time, a second shot gets its own; or
- many matches fall *just* outside the fit (``near_miss``): in a copy a wrong match lands
  anywhere, with parallax or motion the right matches are off by a few pixels.

The thresholds and the figures behind them are in docs/finder.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from photodup.finder.verify.match import Evidence

#: Link kinds, strongest first. "similar" links never join a duplicate group.
KINDS = ("exact", "same", "edited", "cropped", "mirrored_rotated", "similar")
KIND_LABELS = {
    "exact": "exact copy",
    "same": "same picture (re-encoded, resized or converted)",
    "edited": "edited (colours, tone, overlay)",
    "cropped": "cropped or framed",
    "mirrored_rotated": "mirrored or rotated",
    "similar": "similar shot (not a duplicate)",
}


@dataclass(frozen=True)
class Rule:
    min_inliers: int = 15
    min_coverage: float = 0.4
    max_near_miss: float = 0.5
    min_shot_gap_s: float = 1.0


@dataclass(frozen=True)
class Verdict:
    duplicate: bool
    similar: bool
    reason: str


def decide(ev: Evidence, rule: Rule = Rule(), *, time_gap_s: float = math.nan) -> Verdict:
    """Duplicate, similar shot, or neither; ``time_gap_s``: capture-time difference (NaN
    when either photo has none)."""
    agree = ev.inliers >= rule.min_inliers
    covers = min(ev.coverage_a, ev.coverage_b) >= rule.min_coverage
    if not (agree and covers):
        why = f"{ev.inliers} matching points" if not agree else "too little shared area"
        return Verdict(False, False, why)
    if not math.isnan(time_gap_s) and abs(time_gap_s) >= rule.min_shot_gap_s:
        return Verdict(False, True, f"same scene, shot {abs(time_gap_s):.0f} s apart")
    if ev.near_miss > rule.max_near_miss:
        return Verdict(False, True, "same scene, but parts moved (parallax or motion)")
    return Verdict(True, False, "verified")


def link_kind(
    ev: Evidence,
    *,
    same_pixels: bool,
    edited: bool,
) -> str:
    """The kind of a verified duplicate link.

    ``same_pixels``: the perceptual hashes agree closely (re-encode, resize, format);
    ``edited``: they differ although the geometry is a plain resize (tone, colour, overlay).
    """
    turned = abs(ev.rotation) > 45.0
    if ev.mirrored or turned:
        return "mirrored_rotated"
    if min(ev.coverage_a, ev.coverage_b) < 0.97:
        return "cropped"
    if same_pixels:
        return "same"
    return "edited" if edited else "same"


def describe(ev: Evidence) -> str:
    """The evidence in words, for the group page."""
    a, b = ev.coverage_a, ev.coverage_b
    smaller, larger = ("first", "second") if a < b else ("second", "first")
    parts = [f"{ev.inliers} matching points"]
    if min(a, b) >= 0.97:
        parts.append("the photos show the same frame")
    else:
        parts.append(f"the {larger} photo covers {min(a, b) * 100:.0f} % of the {smaller}")
    if ev.mirrored:
        parts.append("mirrored")
    if abs(ev.rotation) >= 1.0:
        parts.append(f"turned {ev.rotation:+.0f}°")
    if abs(math.log(max(ev.scale, 1e-6))) > 0.05:
        parts.append(f"scaled ×{ev.scale:.2f}")
    return "; ".join(parts)
