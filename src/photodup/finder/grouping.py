"""Group near-duplicates: candidate pairs from every signal, verification, complete linkage.

With the ``verified`` signal (the default), candidates from every index reach geometric
verification (:mod:`photodup.finder.verify`), which decides; similar shots go to their own
list and never into a duplicate group.

No chaining: pairs linked by a signal are merged strongest first (complete linkage), and
two groups join only if *every* pair across them is compatible: linked, or similar at the
looser group thresholds (``group_cosine``, ``group_phash_distance``). So A~B and B~C never
pull an unrelated C next to A, while a crop and a screenshot of one photo, each linked to
the photo but not to each other, can still join it. Byte-identical files are one node, so
exact copies are always together.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from photodup.finder.candidates import NodeData
from photodup.finder.groups import Group, Pair, build_group, similar_groups, with_hard_links
from photodup.finder.nodes import candidate_sources, node_data, rule_of, split_nodes
from photodup.finder.settings import FinderSettings
from photodup.finder.store import Photo, Store
from photodup.finder.verify.cache import NodeFeatures, load_features, load_verified, save_verified
from photodup.finder.verify.candidates import merge_pairs
from photodup.finder.verify.linking import Verifier, link_candidates
from photodup.finder.verify.match import Evidence, one_thread

log = logging.getLogger(__name__)

SIGNALS = ("sha256", "phash", "embedding", "burst", "verified")
__all__ = ["SIGNALS", "Group", "Grouping", "Pair", "find_grouping", "find_groups", "group_photos"]
FeatureLoader = Callable[[Sequence[Photo]], NodeFeatures]


@dataclass
class Grouping:
    """Duplicate groups, similar-shot groups (never mixed) and what it took to find them."""

    duplicates: list[Group]
    similar: list[Group]
    #: node pairs that reached verification (key a*n+b) and each photo's node, for the eval
    candidates: set[int] = field(default_factory=set)
    node_of: dict[int, int] = field(default_factory=dict)
    n: int = 0
    stats: dict[str, int] = field(default_factory=dict)
    #: pairs verified in this run (sha_a, sha_b, evidence), for the cache
    new_evidence: list[tuple[str, str, Evidence]] = field(default_factory=list)


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
    if "verified" in signals:  # the shared area decides among verified links
        values = [signals["verified"]]
    return max(values) if values else 0.0


#: True: may share a group; False: must not; None: cannot say (see _complete_linkage).
Compatible = Callable[[int, int], bool | None]


def _compatibility(
    graph: _Graph,
    data: NodeData,
    settings: FinderSettings,
    signals: Collection[str],
    verifier: Verifier | None,
) -> Compatible:
    """May two nodes share a group? Linked, or verified (checked now if need be), or, when
    verification cannot say, similar at the looser group thresholds."""
    phashes = data.phash.tolist()
    use_phash, use_emb = "phash" in signals, "embedding" in signals

    def compatible(x: int, y: int) -> bool | None:
        if graph.has(x, y):
            return True
        if verifier is not None and not verifier.scarce(x, y):
            return verifier.groupable(x, y, settings.group_coverage)
        if use_phash and (phashes[x] ^ phashes[y]).bit_count() <= settings.group_phash_distance:
            return True
        if use_emb and data.has_embedding[x] and data.has_embedding[y]:
            return float(data.embeddings[x] @ data.embeddings[y]) >= settings.group_cosine
        return False

    return compatible


def _may_merge(compatible: Compatible, ma: list[int], mb: list[int]) -> bool:
    """No pair across must be kept apart, and at least half of them are known compatible:
    verification cannot say for some hard pairs (few matches between a tight crop and a
    tiny copy), and those must not split a group that every other pair holds together."""
    known = 0
    for x in ma:
        for y in mb:
            said = compatible(x, y)
            if said is False:
                return False
            known += said is True
    return 2 * known >= len(ma) * len(mb)


def _complete_linkage(graph: _Graph, compatible: Compatible) -> list[list[int]]:
    cluster = list(range(graph.n))
    members: dict[int, list[int]] = {i: [i] for i in range(graph.n)}
    order = sorted(graph.links.items(), key=lambda kv: (-strength(kv[1]), kv[0]))
    for key, _ in order:
        ca, cb = cluster[key // graph.n], cluster[key % graph.n]
        if ca == cb:
            continue
        ma, mb = members[ca], members[cb]
        if _may_merge(compatible, ma, mb):
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
    features: FeatureLoader | None = None,
) -> list[Group]:
    """Duplicate groups of ``photos``; ``embeddings`` maps photo id -> vector (or is
    ``(ids, matrix)``); ``features`` loads local features (no verification without)."""
    found = group_library(
        photos, embeddings, settings, dismissed=dismissed, signals=signals, features=features
    )
    return found.duplicates


def group_library(
    photos: Sequence[Photo],
    embeddings: dict[int, np.ndarray] | tuple[np.ndarray, np.ndarray],
    settings: FinderSettings,
    *,
    dismissed: Sequence[frozenset[str]] = (),
    signals: Collection[str] = SIGNALS,
    features: FeatureLoader | None = None,
    cached: dict[tuple[str, str], Evidence] | None = None,
) -> Grouping:
    """Duplicate and similar-shot groups of ``photos`` (see :func:`group_photos`)."""
    node_of_sha, node_photos = split_nodes(photos)
    n = len(node_photos)
    data = node_data(node_photos, embeddings)
    reps = [g[0] for g in node_photos]
    use_verify = "verified" in signals and features is not None and n > 1
    feats = features(reps) if use_verify and features is not None else None
    verifier = None
    if feats is not None:
        verifier = Verifier(
            [p.sha256 for p in reps], feats, dict(cached or {}), rule_of(settings),
            data.captured_s,
        )  # fmt: skip
    sources = candidate_sources(data, settings, signals, feats)
    candidates = merge_pairs(n, sources)
    _drop_dismissed(candidates, n, node_of_sha, dismissed)
    with one_thread():
        links = link_candidates(n, candidates, verifier)
        graph = _Graph(n, links.duplicate)
        compatible = _compatibility(graph, data, settings, signals, verifier)
        clusters = _complete_linkage(graph, compatible)
    groups = []
    for nodes in clusters:
        members = [p for node in nodes for p in node_photos[node]]
        if len(members) < 2 or (len(nodes) == 1 and "sha256" not in signals):
            continue
        hashes = frozenset(p.sha256 for p in members)
        if any(hashes <= d for d in dismissed):
            continue
        pair_links = {
            (a, b): graph.get(a, b)
            for i, a in enumerate(nodes)
            for b in nodes[i + 1 :]
            if graph.has(a, b)
        }
        groups.append(build_group(nodes, node_photos, pair_links, verifier, data.phash))
    groups.sort(key=lambda g: (-g.bytes_reclaimable, g.key))
    similar = similar_groups(n, links.similar, node_photos, verifier, groups, node_of_sha)
    stats = {f"candidates_{k}": len(v[0]) for k, v in sources.items()}
    stats.update(
        candidate_pairs=len(candidates),
        verified_now=verifier.computed if verifier else 0,
        rejected=links.rejected,
        similar_links=len(links.similar),
    )
    node_of = {p.id: node_of_sha[p.sha256] for p in photos}
    new = verifier.new if verifier else []
    return Grouping(groups, similar, set(candidates), node_of, n, stats, new)


def _drop_dismissed(
    links: dict[int, dict[str, float]],
    n: int,
    node_of_sha: dict[str, int],
    dismissed: Sequence[frozenset[str]],
) -> None:
    for hashes in dismissed:
        nodes = sorted(node_of_sha[h] for h in hashes if h in node_of_sha)
        for i, a in enumerate(nodes):
            for b in nodes[i + 1 :]:
                links.pop(a * n + b, None)


def embedding_tag(photos: Sequence[Photo]) -> tuple[str, str] | None:
    """The (model, pretrained) that embedded most photos; others are not comparable."""
    tags = Counter((p.model, p.pretrained) for p in photos if p.has_embedding)
    if not tags:
        return None
    (model, pretrained), _ = tags.most_common(1)[0]
    return str(model), str(pretrained)


def active_signals(settings: FinderSettings, tag: tuple[str, str] | None) -> tuple[str, ...]:
    """The signals grouping uses; embeddings from random weights are left out under ``auto``
    (as a link; they still propose candidates for verification)."""
    use = settings.use_embeddings == "on" or (
        settings.use_embeddings == "auto" and tag is not None and tag[1] != "none"
    )
    out = SIGNALS if use else tuple(s for s in SIGNALS if s != "embedding")
    return out if settings.verify else tuple(s for s in out if s != "verified")


def find_grouping(
    store: Store, settings: FinderSettings, *, signals: Collection[str] | None = None
) -> Grouping:
    """Duplicate groups (largest saving first) and similar shots of the library.

    Dismissed ("not duplicates") sets and photos moved to the quarantine are left out.
    Features missing from the index are computed from the files; verified pairs are
    cached in the index for the next run.
    """
    gone = store.quarantined_photo_ids()
    photos = [p for p in store.list_photos() if p.id not in gone]
    tag = embedding_tag(photos)
    if signals is None:
        signals = active_signals(settings, tag)
        if tag is not None and "embedding" not in signals and settings.use_embeddings == "auto":
            log.info(
                "embeddings come from random weights (pretrained=none): they propose pairs "
                "for verification but link nothing; PHOTODUP_USE_EMBEDDINGS=on links them"
            )
    embeddings = store.embeddings(*tag) if tag is not None else (np.empty(0), np.empty((0, 512)))

    def features(reps: Sequence[Photo]) -> NodeFeatures:
        return load_features(store.conn, store.library, reps, lazy_max=settings.lazy_features_max)

    found = group_library(
        photos,
        embeddings,
        settings,
        dismissed=store.dismissed_sets(),
        signals=signals,
        features=features,
        cached=load_verified(store.conn) if "verified" in signals else None,
    )
    if found.new_evidence:
        try:
            with store.transaction():
                save_verified(store.conn, found.new_evidence)
        except sqlite3.OperationalError as exc:  # a busy index costs a re-check next time
            log.warning("could not cache %d verified pairs: %s", len(found.new_evidence), exc)
    # Hard links are one file: they free nothing (seen on disk, so after grouping).
    found.duplicates = [with_hard_links(g, store.library) for g in found.duplicates]
    found.duplicates.sort(key=lambda g: (-g.bytes_reclaimable, g.key))
    return found


def find_groups(
    store: Store, settings: FinderSettings, *, signals: Collection[str] | None = None
) -> list[Group]:
    """Duplicate groups of the library, largest saving first (see :func:`find_grouping`)."""
    return find_grouping(store, settings, signals=signals).duplicates
