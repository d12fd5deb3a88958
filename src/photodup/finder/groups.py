"""A group of duplicates as the CLI and the UI see it: members, links, keeper, saving."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
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
    note: str = ""  # why a similar shot is not a duplicate ("shot 1 s apart")

    @property
    def words(self) -> str:
        said = describe(self.evidence) if self.evidence is not None else ""
        return "; ".join(x for x in (self.note, said) if x)


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
    #: Members that are hard links of the keeper (same st_dev and st_ino): the same file
    #: under another name, so never counted in ``bytes_reclaimable`` nor moved.
    same_file_as_keeper: tuple[int, ...] = ()

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
            "same_file_as_keeper": [
                p.display_path for p in self.members if p.id in self.same_file_as_keeper
            ],
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


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def with_hard_links(group: Group, library: Path) -> Group:
    """``group`` with hard links seen: a file counts once, and links of the keeper not at all."""
    seen: set[tuple[int, int]] = set()
    same: list[int] = []
    reclaimable = 0
    for i, photo in enumerate(group.members):
        ident = _identity(photo.abs_path(library))
        if ident is not None and ident in seen:
            if i > 0 and ident == _identity(group.keeper.abs_path(library)):
                same.append(photo.id)
            continue
        if ident is not None:
            seen.add(ident)
        if i > 0:
            reclaimable += photo.size
    if not same and reclaimable == group.bytes_reclaimable:
        return group
    return replace(group, bytes_reclaimable=reclaimable, same_file_as_keeper=tuple(same))


def similar_groups(
    n: int,
    similar: dict[int, str],
    node_photos: Sequence[Sequence[Photo]],
    verifier: Verifier | None,
    duplicates: Sequence[Group] = (),
    node_of_sha: dict[str, int] | None = None,
) -> list[Group]:
    """Similar shots, one photo per duplicate group (its keeper) or lone photo.

    Links join duplicate groups, not single files: a burst next to a photo with ten
    copies is one pair of shots, not ten. Shots already in one duplicate group are not
    listed again."""
    cluster = list(range(n))
    keeper: dict[int, Photo] = {node: node_photos[node][0] for node in range(n)}
    if node_of_sha is not None:
        for g in duplicates:
            nodes = sorted({node_of_sha[p.sha256] for p in g.members})
            for node in nodes:
                cluster[node] = nodes[0]
            keeper[nodes[0]] = g.keeper
    parent = {c: c for c in set(cluster)}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    between: dict[tuple[int, int], tuple[int, int, str]] = {}
    for key, why in similar.items():
        a, b = divmod(key, n)
        ca, cb = sorted((cluster[a], cluster[b]))
        if ca != cb:
            between.setdefault((ca, cb), (a, b, why))
            parent[find(ca)] = find(cb)
    runs: dict[int, set[int]] = {}
    for ca, cb in between:
        runs.setdefault(find(ca), set()).update((ca, cb))
    groups = []
    for clusters in runs.values():
        members = [keeper[c] for c in sorted(clusters)]
        ranked, reason = choose_keeper(members)
        pairs = []
        for (ca, cb), (a, b, why) in between.items():
            if ca in clusters:
                ev = verifier.oriented(a, b) if verifier is not None else None
                pairs.append(Pair(keeper[ca].id, keeper[cb].id, "similar", 1.0, "similar", ev, why))
        groups.append(
            Group(
                key=group_key(members),
                kind="similar",
                members=ranked,
                pairs=pairs,
                keeper_reason=reason,
                bytes_reclaimable=0,  # similar shots are all kept unless the user decides
                max_similarity=1.0,
                min_similarity=1.0,
            )
        )
    groups.sort(key=lambda g: g.key)
    return groups
