"""The inputs of grouping: one node per distinct content, its signals, its candidate pairs.

Byte-identical files (same SHA-256) are one node; each node's signals (pHash, embedding,
capture time, camera) come from its first photo. Candidate pairs come from every index
(:mod:`photodup.finder.candidates`, :mod:`photodup.finder.verify.candidates`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from photodup.finder.candidates import NodeData, Pairs, burst_pairs, embedding_pairs, phash_pairs
from photodup.finder.records import Photo
from photodup.finder.settings import FinderSettings
from photodup.finder.verify.cache import NodeFeatures
from photodup.finder.verify.candidates import knn_pairs, variant_pairs
from photodup.finder.verify.decide import Rule


def epoch(captured: str | None) -> float:
    if captured is None:
        return float("nan")
    return float(np.datetime64(captured, "s").astype(np.int64))


def split_nodes(photos: Sequence[Photo]) -> tuple[dict[str, int], list[list[Photo]]]:
    node_of_sha: dict[str, int] = {}
    node_photos: list[list[Photo]] = []
    for p in photos:
        if p.sha256 not in node_of_sha:
            node_of_sha[p.sha256] = len(node_photos)
            node_photos.append([])
        node_photos[node_of_sha[p.sha256]].append(p)
    return node_of_sha, node_photos


def node_data(
    node_photos: list[list[Photo]],
    embeddings: dict[int, np.ndarray] | tuple[np.ndarray, np.ndarray],
) -> NodeData:
    if isinstance(embeddings, tuple):
        ids, matrix = embeddings
        row_of = {int(i): r for r, i in enumerate(ids.tolist())}
    else:
        matrix = np.stack(list(embeddings.values())) if embeddings else np.zeros((0, 512))
        row_of = {pid: r for r, pid in enumerate(embeddings)}
    n = len(node_photos)
    dim = matrix.shape[1] if matrix.ndim == 2 and matrix.shape[0] else 512
    node_emb = np.zeros((n, dim), dtype=np.float32)
    has_emb = np.zeros(n, dtype=bool)
    for node, group in enumerate(node_photos):
        row = next((row_of[p.id] for p in group if p.id in row_of), None)
        if row is not None:
            node_emb[node], has_emb[node] = matrix[row], True
    reps = [g[0] for g in node_photos]
    return NodeData(
        phash=np.fromiter((p.phash for p in reps), dtype=np.uint64, count=n),
        embeddings=node_emb,
        has_embedding=has_emb,
        captured_s=np.fromiter((epoch(p.captured_at) for p in reps), dtype=np.float64, count=n),
        camera=[" ".join(x for x in (p.camera_make, p.camera_model) if x) or None for p in reps],
    )


def candidate_sources(
    data: NodeData,
    settings: FinderSettings,
    signals: Collection[str],
    feats: NodeFeatures | None,
) -> dict[str, Pairs]:
    """Pairs from every index; the keys ``phash``/``embedding`` are the older link rules."""
    out = {}
    has_emb = np.flatnonzero(data.has_embedding)
    loose = None
    if feats is not None:
        loose = phash_pairs(
            data.phash, max(settings.candidate_phash_distance, settings.phash_distance)
        )
    if "phash" in signals:
        if loose is not None:  # one search serves both radii
            keep = loose[2] <= settings.phash_distance
            out["phash"] = (loose[0][keep], loose[1][keep], loose[2][keep])
        else:
            out["phash"] = phash_pairs(data.phash, settings.phash_distance)
    if "embedding" in signals:
        out["embedding"] = embedding_pairs(
            data.embeddings,
            has_emb,
            settings.cosine_threshold,
            exact_max=settings.exact_search_max,
            nprobe=settings.ivf_nprobe,
            pca_dim=settings.ivf_pca_dim,
            margin=settings.ivf_margin,
        )
    if "burst" in signals:
        out["burst"] = burst_pairs(
            data,
            window_s=settings.burst_window_s,
            min_cosine=settings.burst_cosine,
            max_phash_distance=settings.burst_phash_distance,
            use_embeddings="embedding" in signals,
        )
    if feats is not None:
        assert loose is not None
        out["phash_loose"] = loose
        out["variant"] = variant_pairs(
            data.phash, feats.variants, feats.has_variants, settings.candidate_variant_distance
        )
        out["knn"] = knn_pairs(data.embeddings, has_emb, settings.candidate_knn)
    return out


def rule_of(settings: FinderSettings) -> Rule:
    return Rule(
        settings.min_inliers, settings.min_coverage, settings.max_near_miss, settings.min_shot_gap_s
    )
