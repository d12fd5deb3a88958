"""Pairwise quality of grouping on a labelled library, per kind of duplicate and per signal.

Two photos are a true pair when they show the same source photo (the sample library's
labels); a predicted pair when grouping puts them in the same duplicate group. A burst
shot and the hard negatives (tiles, details: :data:`~photodup.finder.derive.NEGATIVES`)
are *not* duplicates of the photo they come from: each counts as a source of its own, so
grouping one is a false pair; their rows show precision only (1.00: never grouped). The
burst is instead expected among the similar shots (``similar``). The ``all`` row scores
every pair. For a kind ``k`` (say ``crop_30``) each file of that kind is paired with its
original (a true pair) and with every photo of another source (false pairs): recall is the
share of ``k`` copies grouped with their original, precision the share of the predicted
pairs among those that are right.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from photodup.finder.derive import NEGATIVES
from photodup.finder.grouping import FeatureLoader, group_library
from photodup.finder.records import Photo
from photodup.finder.sample import SampleFile, SampleLibrary
from photodup.finder.settings import FinderSettings

#: Signal sets compared by the eval; ``verified`` is the default offline configuration.
SIGNAL_SETS: dict[str, tuple[str, ...]] = {
    "hash": ("sha256", "phash", "burst"),
    "embedding": ("embedding",),
    "combined": ("sha256", "phash", "embedding", "burst"),
    "verified": ("sha256", "phash", "burst", "verified"),
}
#: Kinds that are not duplicates of their source photo.
NOT_DUPLICATES = ("burst", *NEGATIVES)


def duplicate_source(f: SampleFile) -> str:
    return f"{f.source}:{f.kind}" if f.kind in NOT_DUPLICATES else f.source


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    f1: float
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int


def score(truth: set[tuple[int, int]], predicted: set[tuple[int, int]]) -> Score:
    correct = len(truth & predicted)
    # An empty prediction is vacuously precise; an empty truth is vacuously recalled.
    precision = correct / len(predicted) if predicted else 1.0
    recall = correct / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Score(precision, recall, f1, len(truth), len(predicted), correct)


@dataclass
class EvalReport:
    model: str
    pretrained: str
    photos: int
    #: signal set -> kind ("all" for every pair) -> score
    scores: dict[str, dict[str, Score]] = field(default_factory=dict)
    #: signal set -> duplicate groups holding two different source photos (must be 0)
    mixed_groups: dict[str, int] = field(default_factory=dict)
    #: signal set -> burst pairs found among the similar shots (and pairs there)
    similar: dict[str, Score] = field(default_factory=dict)
    #: kind -> share of its true pairs that reached verification (``verified`` set)
    candidate_recall: dict[str, float] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "pretrained": self.pretrained,
            "photos": self.photos,
            "mixed_groups": self.mixed_groups,
            "similar": {k: asdict(v) for k, v in self.similar.items()},
            "candidate_recall": self.candidate_recall,
            "stats": self.stats,
            "scores": {
                s: {k: asdict(v) for k, v in kinds.items()} for s, kinds in self.scores.items()
            },
        }


def _pairs(groups: Sequence[Collection[int]]) -> set[tuple[int, int]]:
    out: set[tuple[int, int]] = set()
    for members in groups:
        ordered = sorted(members)
        out.update((a, b) for i, a in enumerate(ordered) for b in ordered[i + 1 :])
    return out


def evaluate(
    lib: SampleLibrary,
    photos: Sequence[Photo],
    embeddings: tuple[np.ndarray, np.ndarray],
    settings: FinderSettings,
    *,
    model: str,
    pretrained: str,
    features: FeatureLoader | None = None,
) -> EvalReport:
    """Score grouping of ``photos`` (the scanned ``lib``) with each signal set."""
    label = {f.path: f for f in lib.photos()}
    known = [p for p in photos if p.display_path in label]
    source = {p.id: duplicate_source(label[p.display_path]) for p in known}
    kind = {p.id: label[p.display_path].kind for p in known}
    ids = sorted(source)
    truth_all = {(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :] if source[a] == source[b]}
    report = EvalReport(model, pretrained, len(known))
    original = {source[i]: i for i in ids if kind[i] == "original"}
    origin = {p.id: label[p.display_path].source for p in known}
    first = {origin[i]: i for i in ids if kind[i] == "original"}
    burst_truth = {
        (min(i, first[origin[i]]), max(i, first[origin[i]]))
        for i in ids
        if kind[i] == "burst" and origin[i] in first
    }
    universes: dict[str, tuple[set[tuple[int, int]], set[tuple[int, int]]]] = {}
    for i in ids:
        if kind[i] == "original":
            continue
        truth, universe = universes.setdefault(kind[i], (set(), set()))
        if source[i] not in original:  # a negative: every pair with it is a false one
            universe.update((min(i, j), max(i, j)) for j in ids if j != i)
            continue
        for j in ids:
            if j == original[source[i]] or source[j] != source[i]:
                pair = (min(i, j), max(i, j))
                universe.add(pair)
                if source[j] == source[i]:
                    truth.add(pair)
    for name, signals in SIGNAL_SETS.items():
        found = group_library(known, embeddings, settings, signals=signals, features=features)
        predicted = _pairs([[p.id for p in g.members] for g in found.duplicates])
        per_kind = {"all": score(truth_all, predicted)}
        for k, (truth, universe) in sorted(universes.items()):
            per_kind[k] = score(truth, predicted & universe)
        report.scores[name] = per_kind
        report.mixed_groups[name] = sum(
            len({source[p.id] for p in g.members}) > 1 for g in found.duplicates
        )
        # Similar shots are scored by source: a burst next to any copy of its scene counts.
        shots = {
            (min(origin[a], origin[b]) + "|" + max(origin[a], origin[b]))
            for a, b in _pairs([[p.id for p in g.members] for g in found.similar])
        }
        wanted = {
            min(origin[a], origin[b]) + "|" + max(origin[a], origin[b]) for a, b in burst_truth
        }
        right = len(shots & wanted)
        report.similar[name] = Score(
            right / len(shots) if shots else 1.0, right / len(wanted) if wanted else 1.0,
            0.0, len(wanted), len(shots), right,
        )  # fmt: skip
        if name == "verified":
            report.candidate_recall = _candidate_recall(found, universes)
            report.stats = found.stats
    return report


def _candidate_recall(
    found: Any, universes: dict[str, tuple[set[tuple[int, int]], set[tuple[int, int]]]]
) -> dict[str, float]:
    out = {}
    n, node_of = found.n, found.node_of
    for k, (truth, _) in sorted(universes.items()):
        if not truth:
            continue
        hit = 0
        for a, b in truth:
            x, y = sorted((node_of[a], node_of[b]))
            hit += x == y or x * n + y in found.candidates
        out[k] = hit / len(truth)
    return out
