"""Group near-duplicates: candidate pairs from every signal, then complete linkage.

No chaining: pairs linked by a signal are merged strongest first (complete linkage), and
two groups join only if *every* pair across them is compatible: linked, or similar at the
looser group thresholds (``group_cosine``, ``group_phash_distance``). So A~B and B~C never
pull an unrelated C next to A, while a crop and a screenshot of one photo, each linked to
the photo but not to each other, can still join it. Byte-identical files are one node, so
exact copies are always together.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import numpy as np

from photodup.finder.candidates import NodeData, burst_pairs, embedding_pairs, phash_pairs
from photodup.finder.groups import Group, Pair, build_group, with_hard_links
from photodup.finder.settings import FinderSettings
from photodup.finder.store import Photo, Store

log = logging.getLogger(__name__)

SIGNALS = ("sha256", "phash", "embedding", "burst")
__all__ = ["SIGNALS", "Group", "Pair", "find_groups", "group_photos"]


@dataclass
class _Graph:
    """Node-level links: key a*n+b (a < b) -> {signal: score}."""

    n: int
    links: dict[int, dict[str, float]]

    def add(self, signal: str, pairs: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        a, b, s = pairs
        for key, score in zip((a * self.n + b).tolist(), s.tolist(), strict=True):
            self.links.setdefault(key, {})[signal] = float(score)

    def has(self, a: int, b: int) -> bool:
        lo, hi = (a, b) if a < b else (b, a)
        return lo * self.n + hi in self.links

    def get(self, a: int, b: int) -> dict[str, float]:
        lo, hi = (a, b) if a < b else (b, a)
        return self.links.get(lo * self.n + hi, {})


def strength(signals: dict[str, float]) -> float:
    """One similarity in [0, 1] for ordering merges: cosine, or 1 - pHash distance / 64."""
    values = [s if name != "phash" else 1.0 - s / 64.0 for name, s in signals.items()]
    return max(values) if values else 0.0


def _epoch(captured: str | None) -> float:
    if captured is None:
        return float("nan")
    return float(np.datetime64(captured, "s").astype(np.int64))


Compatible = Callable[[int, int], bool]


def _compatibility(
    graph: _Graph, data: NodeData, settings: FinderSettings, signals: Collection[str]
) -> Compatible:
    """May two nodes share a group? Linked, or similar at the looser group thresholds."""
    phashes = data.phash.tolist()
    use_phash, use_emb = "phash" in signals, "embedding" in signals

    def compatible(x: int, y: int) -> bool:
        if graph.has(x, y):
            return True
        if use_phash and (phashes[x] ^ phashes[y]).bit_count() <= settings.group_phash_distance:
            return True
        if use_emb and data.has_embedding[x] and data.has_embedding[y]:
            return float(data.embeddings[x] @ data.embeddings[y]) >= settings.group_cosine
        return False

    return compatible


def _complete_linkage(graph: _Graph, compatible: Compatible) -> list[list[int]]:
    cluster = list(range(graph.n))
    members: dict[int, list[int]] = {i: [i] for i in range(graph.n)}
    order = sorted(graph.links.items(), key=lambda kv: (-strength(kv[1]), kv[0]))
    for key, _ in order:
        ca, cb = cluster[key // graph.n], cluster[key % graph.n]
        if ca == cb:
            continue
        ma, mb = members[ca], members[cb]
        if all(compatible(x, y) for x in ma for y in mb):
            if len(ma) < len(mb):
                ca, cb, ma, mb = cb, ca, mb, ma
            ma.extend(mb)
            for node in mb:
                cluster[node] = ca
            del members[cb]
    return list(members.values())


def group_photos(
    photos: Sequence[Photo],
    embeddings: dict[int, np.ndarray] | tuple[np.ndarray, np.ndarray],
    settings: FinderSettings,
    *,
    dismissed: Sequence[frozenset[str]] = (),
    signals: Collection[str] = SIGNALS,
) -> list[Group]:
    """Group ``photos``; ``embeddings`` maps photo id -> vector (or is ``(ids, matrix)``)."""
    if isinstance(embeddings, tuple):
        ids, matrix = embeddings
        row_of = {int(i): r for r, i in enumerate(ids.tolist())}
    else:
        matrix = np.stack(list(embeddings.values())) if embeddings else np.zeros((0, 512))
        row_of = {pid: r for r, pid in enumerate(embeddings)}
    node_of_sha: dict[str, int] = {}
    node_photos: list[list[Photo]] = []
    for p in photos:
        if p.sha256 not in node_of_sha:
            node_of_sha[p.sha256] = len(node_photos)
            node_photos.append([])
        node_photos[node_of_sha[p.sha256]].append(p)
    n = len(node_photos)
    dim = matrix.shape[1] if matrix.ndim == 2 and matrix.shape[0] else 512
    node_emb = np.zeros((n, dim), dtype=np.float32)
    has_emb = np.zeros(n, dtype=bool)
    for node, group in enumerate(node_photos):
        row = next((row_of[p.id] for p in group if p.id in row_of), None)
        if row is not None:
            node_emb[node], has_emb[node] = matrix[row], True
    reps = [g[0] for g in node_photos]
    data = NodeData(
        phash=np.fromiter((p.phash for p in reps), dtype=np.uint64, count=n),
        embeddings=node_emb,
        has_embedding=has_emb,
        captured_s=np.fromiter((_epoch(p.captured_at) for p in reps), dtype=np.float64, count=n),
        camera=[" ".join(x for x in (p.camera_make, p.camera_model) if x) or None for p in reps],
    )
    graph = _Graph(n, {})
    if "phash" in signals:
        graph.add("phash", phash_pairs(data.phash, settings.phash_distance))
    if "embedding" in signals:
        graph.add(
            "embedding",
            embedding_pairs(
                node_emb,
                np.flatnonzero(has_emb),
                settings.cosine_threshold,
                exact_max=settings.exact_search_max,
                nprobe=settings.ivf_nprobe,
                pca_dim=settings.ivf_pca_dim,
                margin=settings.ivf_margin,
            ),
        )
    if "burst" in signals:
        graph.add(
            "burst",
            burst_pairs(
                data,
                window_s=settings.burst_window_s,
                min_cosine=settings.burst_cosine,
                max_phash_distance=settings.burst_phash_distance,
                use_embeddings="embedding" in signals,
            ),
        )
    _drop_dismissed(graph, node_of_sha, dismissed)
    groups = []
    compatible = _compatibility(graph, data, settings, signals)
    for nodes in _complete_linkage(graph, compatible):
        members = [p for node in nodes for p in node_photos[node]]
        if len(members) < 2 or (len(nodes) == 1 and "sha256" not in signals):
            continue
        hashes = frozenset(p.sha256 for p in members)
        if any(hashes <= d for d in dismissed):
            continue
        links = {
            (a, b): graph.get(a, b)
            for i, a in enumerate(nodes)
            for b in nodes[i + 1 :]
            if graph.has(a, b)
        }
        groups.append(build_group(nodes, node_photos, links))
    groups.sort(key=lambda g: (-g.bytes_reclaimable, g.key))
    return groups


def _drop_dismissed(
    graph: _Graph, node_of_sha: dict[str, int], dismissed: Sequence[frozenset[str]]
) -> None:
    for hashes in dismissed:
        nodes = sorted(node_of_sha[h] for h in hashes if h in node_of_sha)
        for i, a in enumerate(nodes):
            for b in nodes[i + 1 :]:
                graph.links.pop(a * graph.n + b, None)


def embedding_tag(photos: Sequence[Photo]) -> tuple[str, str] | None:
    """The (model, pretrained) that embedded most photos; others are not comparable."""
    tags = Counter((p.model, p.pretrained) for p in photos if p.has_embedding)
    if not tags:
        return None
    (model, pretrained), _ = tags.most_common(1)[0]
    return str(model), str(pretrained)


def active_signals(settings: FinderSettings, tag: tuple[str, str] | None) -> tuple[str, ...]:
    """The signals grouping uses; embeddings from random weights are left out under ``auto``."""
    use = settings.use_embeddings == "on" or (
        settings.use_embeddings == "auto" and tag is not None and tag[1] != "none"
    )
    return SIGNALS if use else tuple(s for s in SIGNALS if s != "embedding")


def find_groups(
    store: Store, settings: FinderSettings, *, signals: Collection[str] | None = None
) -> list[Group]:
    """Groups of the photos in the library, largest saving first.

    Dismissed ("not duplicates") sets and photos moved to the quarantine are left out.
    """
    gone = store.quarantined_photo_ids()
    photos = [p for p in store.list_photos() if p.id not in gone]
    tag = embedding_tag(photos)
    if signals is None:
        signals = active_signals(settings, tag)
        if tag is not None and "embedding" not in signals and settings.use_embeddings == "auto":
            log.warning(
                "embeddings come from random weights (pretrained=none): grouping uses exact "
                "and perceptual hashes only; set PHOTODUP_USE_EMBEDDINGS=on to use them anyway"
            )
    embeddings = store.embeddings(*tag) if tag is not None else (np.empty(0), np.empty((0, 512)))
    groups = group_photos(
        photos, embeddings, settings, dismissed=store.dismissed_sets(), signals=signals
    )
    # Hard links are one file: they free nothing (seen on disk, so after grouping).
    groups = [with_hard_links(g, store.library) for g in groups]
    groups.sort(key=lambda g: (-g.bytes_reclaimable, g.key))
    return groups
