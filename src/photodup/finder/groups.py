"""A group of duplicates as the CLI and the UI see it: members, links, keeper, saving."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from photodup.finder.keeper import choose_keeper
from photodup.finder.records import Photo
from photodup.finder.verify.decide import describe, link_kind
from photodup.finder.verify.match import Evidence

if TYPE_CHECKING:
    from photodup.finder.verify.linking import Verifier


@dataclass(frozen=True)
class Pair:
    """Two photos linked by one signal.

    ``score``: 1.0 for ``sha256``; the Hamming distance (bits of 64) for ``phash``; the
    cosine similarity for ``embedding``; for ``burst`` the cosine, or 1 - distance/64;
    for ``verified`` the share of the smaller photo covered by the shared region.
    ``kind`` (exact, same, edited, cropped, mirrored_rotated, similar) labels the link;
    ``evidence`` (verified and similar links) says why, with A = photo ``a``.
    """

    a: int  # photo id
    b: int
    signal: str
    score: float
    kind: str | None = None
    evidence: Evidence | None = None

    @property
    def words(self) -> str:
        return describe(self.evidence) if self.evidence is not None else ""


@dataclass(frozen=True)
class Group:
    key: str  # stable while the same files (by content) form the group
    kind: str  # exact (identical files), near, or similar (similar shots, not duplicates)
    members: list[Photo]  # best first: members[0] is the suggested keeper
    pairs: list[Pair]
    keeper_reason: str
    bytes_reclaimable: int  # size of everything but the keeper
    max_similarity: float  # over linked pairs, in [0, 1] (pHash as 1 - distance/64)
    min_similarity: float

    @property
    def keeper(self) -> Photo:
        return self.members[0]

    @property
    def signals(self) -> list[str]:
        return sorted({p.signal for p in self.pairs})

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "keeper_id": self.keeper.id,
            "keeper_reason": self.keeper_reason,
            "bytes_reclaimable": self.bytes_reclaimable,
            "max_similarity": round(self.max_similarity, 6),
            "min_similarity": round(self.min_similarity, 6),
            "signals": self.signals,
            "members": [
                {
                    "id": p.id,
                    "path": p.display_path,
                    "size": p.size,
                    "width": p.width,
                    "height": p.height,
                    "format": p.format,
                    "captured_at": p.captured_at,
                    "camera": " ".join(x for x in (p.camera_make, p.camera_model) if x) or None,
                    "sha256": p.sha256,
                }
                for p in self.members
            ],
            "pairs": [_pair_dict(x) for x in self.pairs],
        }


def _pair_dict(x: Pair) -> dict[str, Any]:
    d: dict[str, Any] = {"a": x.a, "b": x.b, "signal": x.signal, "score": round(x.score, 6)}
    if x.kind is not None:
        d["kind"] = x.kind
    if x.evidence is not None:
        d["evidence"] = x.evidence.to_dict()
        d["why"] = x.words
    return d


def group_key(members: Sequence[Photo]) -> str:
    digest = hashlib.sha256(",".join(sorted(p.sha256 for p in members)).encode())
    return digest.hexdigest()[:16]


def _similarity(signal: str, score: float) -> float:
    return 1.0 - score / 64.0 if signal == "phash" else score


def _kind(signal: str, score: float, ev: Evidence | None, distance: int) -> str:
    if signal == "verified" and ev is not None:
        return link_kind(ev, same_pixels=distance <= 4, edited=distance > 4)
    if signal == "phash":
        return "same" if score <= 4 else "edited"
    return "similar" if signal == "burst" else "edited"


def build_group(
    nodes: Sequence[int],
    node_photos: Sequence[Sequence[Photo]],
    links: dict[tuple[int, int], dict[str, float]],
    verifier: Verifier | None = None,
    phash: np.ndarray | None = None,
    *,
    kind: str | None = None,
) -> Group:
    """Assemble a group from its nodes (distinct contents) and the links between them."""
    members = [p for node in nodes for p in node_photos[node]]
    ranked, reason = choose_keeper(members)
    rank = {p.id: i for i, p in enumerate(ranked)}
    # Each node is represented by its best copy; its other copies link to it by SHA-256.
    rep = {node: min(node_photos[node], key=lambda p: rank[p.id]) for node in nodes}
    pairs: list[Pair] = []
    sims: list[float] = []
    for node in nodes:
        for p in node_photos[node]:
            if p.id != rep[node].id:
                pairs.append(Pair(rep[node].id, p.id, "sha256", 1.0, "exact"))
                sims.append(1.0)
    for (a, b), signals in links.items():
        ev = verifier.oriented(a, b) if verifier is not None else None
        distance = 64
        if phash is not None:
            distance = (int(phash[a]) ^ int(phash[b])).bit_count()
        for signal, score in sorted(signals.items()):
            with_ev = ev if signal in ("verified", "similar") else None
            pairs.append(
                Pair(
                    rep[a].id, rep[b].id, signal, score, _kind(signal, score, ev, distance), with_ev
                )
            )
        sims.append(max(_similarity(s, v) for s, v in signals.items()))
    if kind is None:
        kind = "exact" if len(nodes) == 1 else "near"
    return Group(
        key=group_key(members),
        kind=kind,
        members=ranked,
        pairs=pairs,
        keeper_reason=reason,
        bytes_reclaimable=sum(p.size for p in ranked[1:]),
        max_similarity=max(sims),
        min_similarity=min(sims),
    )


def similar_groups(
    n: int,
    similar: dict[int, str],
    node_photos: Sequence[Sequence[Photo]],
    verifier: Verifier | None,
) -> list[Group]:
    """Similar shots: connected runs of similar links, each a group of kind ``similar``."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for key in similar:
        a, b = divmod(key, n)
        parent[find(a)] = find(b)
    runs: dict[int, list[int]] = {}
    for key in similar:
        a, _ = divmod(key, n)
        runs.setdefault(find(a), [])
    for node in range(n):
        if find(node) in runs:
            runs[find(node)].append(node)
    groups = []
    for nodes in runs.values():
        inside = set(nodes)
        links = {divmod(k, n): {"similar": 1.0} for k in similar if divmod(k, n)[0] in inside}
        groups.append(build_group(nodes, node_photos, links, verifier, kind="similar"))
    groups.sort(key=lambda g: g.key)
    return groups
