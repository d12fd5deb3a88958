"""A group of duplicates as the CLI and the UI see it: members, links, keeper, saving."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from photodup.finder.keeper import choose_keeper
from photodup.finder.records import Photo


@dataclass(frozen=True)
class Pair:
    """Two photos linked by one signal.

    ``score``: 1.0 for ``sha256``; the Hamming distance (bits of 64) for ``phash``; the
    cosine similarity for ``embedding``; for ``burst`` the cosine, or 1 - distance/64.
    """

    a: int  # photo id
    b: int
    signal: str
    score: float


@dataclass(frozen=True)
class Group:
    key: str  # stable while the same files (by content) form the group
    kind: str  # exact (identical files), near, or burst (a linked pair needed capture time)
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
            "pairs": [
                {"a": x.a, "b": x.b, "signal": x.signal, "score": round(x.score, 6)}
                for x in self.pairs
            ],
        }


def group_key(members: Sequence[Photo]) -> str:
    digest = hashlib.sha256(",".join(sorted(p.sha256 for p in members)).encode())
    return digest.hexdigest()[:16]


def _similarity(signal: str, score: float) -> float:
    return 1.0 - score / 64.0 if signal == "phash" else score


def build_group(
    nodes: Sequence[int],
    node_photos: Sequence[Sequence[Photo]],
    links: dict[tuple[int, int], dict[str, float]],
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
                pairs.append(Pair(rep[node].id, p.id, "sha256", 1.0))
                sims.append(1.0)
    for (a, b), signals in links.items():
        for signal, score in sorted(signals.items()):
            pairs.append(Pair(rep[a].id, rep[b].id, signal, score))
        sims.append(max(_similarity(s, v) for s, v in signals.items()))
    only_burst = any(set(s) == {"burst"} for s in links.values())
    kind = "exact" if len(nodes) == 1 else "burst" if only_burst else "near"
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
