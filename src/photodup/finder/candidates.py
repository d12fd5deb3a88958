"""Candidate pairs from each signal, found with indexes rather than comparing every pair.

Inputs are *nodes*: one per distinct content (SHA-256), so byte-identical copies are
compared once. Every function returns ``(a, b, score)`` arrays with ``a < b`` (node indices).

- perceptual hash: faiss ``IndexBinaryFlat`` range search on the 64-bit pHash (exact
  Hamming distance, brute-force popcount in C++);
- embeddings: faiss inner-product range search, exact (``IndexFlatIP``) up to
  ``exact_search_max`` nodes, above it an inverted-file index (``IndexIVFFlat``) on a PCA
  projection whose candidates are re-checked with the full vectors;
- bursts: same camera, capture times within a window (a sort and a sliding window), and
  pixels that agree at a looser threshold.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

# faiss reports at INFO which SIMD build it could not load; users need not see that.
logging.getLogger("faiss.loader").setLevel(logging.WARNING)
import faiss  # noqa: E402

Pairs = tuple[np.ndarray, np.ndarray, np.ndarray]

_EMPTY: Pairs = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32))


@dataclass(frozen=True)
class NodeData:
    """Per-node signals. ``embeddings`` rows are L2-normalised; ``has_embedding`` masks them."""

    phash: np.ndarray  # uint64 [n]
    embeddings: np.ndarray  # float32 [n, d]
    has_embedding: np.ndarray  # bool [n]
    captured_s: np.ndarray  # float64 [n] seconds since the epoch, NaN when unknown
    camera: list[str | None]


def _upper(lims: np.ndarray, dist: np.ndarray, ids: np.ndarray, rows: np.ndarray) -> Pairs:
    """Turn a faiss range-search result into unique pairs with a < b."""
    counts = np.diff(lims).astype(np.int64)
    a = np.repeat(rows, counts)
    b = ids.astype(np.int64)
    keep = a < b
    return a[keep], b[keep], dist[keep]


def phash_pairs(phash: np.ndarray, max_distance: int) -> Pairs:
    """Pairs whose 64-bit hashes differ in at most ``max_distance`` bits (score = distance).

    Exact brute force (popcount in C++, multi-threaded): measured faster here than a binary
    IVF index even at 100k hashes, and it misses nothing (docs/finder.md).
    """
    n = len(phash)
    if n < 2:
        return _EMPTY
    # faiss compares bytes; big-endian keeps bit i of the hash at the same place for everyone.
    codes = np.ascontiguousarray(phash.astype(">u8").view(np.uint8).reshape(n, 8))
    index = faiss.IndexBinaryFlat(64)
    index.add(codes)
    # range_search keeps distances strictly below the radius.
    lims, dist, ids = index.range_search(codes, max_distance + 1)
    return _upper(lims, dist.astype(np.float32), ids, np.arange(n, dtype=np.int64))


def _ivf_lists(n: int) -> int:
    # About 4*sqrt(n) lists: the usual IVF sizing, capped so training stays quick.
    return max(1, min(n // 39, int(4 * math.sqrt(n)), 4096))


def _range(index: faiss.Index, x: np.ndarray, radius: float) -> Pairs:
    # Inner-product range search keeps similarities strictly above the radius; nudge it so
    # that a pair exactly at the threshold counts.
    lims, sims, ids = index.range_search(x, float(np.nextafter(np.float32(radius), -2)))
    return _upper(lims, sims, ids, np.arange(len(x), dtype=np.int64))


def _pca(x: np.ndarray, dim: int, rng: np.random.Generator) -> np.ndarray:
    """Project onto the top ``dim`` principal axes of a sample, then L2-normalise."""
    sample = x[np.sort(rng.choice(len(x), size=min(len(x), 10_000), replace=False))]
    mean = sample.mean(axis=0)
    centred = sample - mean
    _, vectors = np.linalg.eigh(centred.T @ centred)  # eigenvalues ascending
    # Contiguous, or numpy would multiply the reversed (negative-stride) view without BLAS.
    axes = np.ascontiguousarray(vectors[:, ::-1][:, :dim], dtype=np.float32)
    y = np.ascontiguousarray((x - mean) @ axes, dtype=np.float32)
    faiss.normalize_L2(y)
    return y


def embedding_pairs(
    embeddings: np.ndarray,
    rows: np.ndarray,
    threshold: float,
    *,
    exact_max: int,
    nprobe: int,
    pca_dim: int = 128,
    margin: float = 0.07,
) -> Pairs:
    """Pairs among ``rows`` whose cosine similarity is at least ``threshold``.

    Up to ``exact_max`` rows: exact search. Above: candidates from an IVF index over a PCA
    projection to ``pca_dim`` (searched ``margin`` below the threshold, since projecting
    moves cosines), then every candidate is checked with the full vectors, so nothing
    below the threshold is ever reported; what the IVF probe misses is the recall cost
    (measured in docs/finder.md).
    """
    n = len(rows)
    if n < 2:
        return _EMPTY
    x = np.ascontiguousarray(embeddings[rows], dtype=np.float32)
    d = x.shape[1]
    if n <= exact_max:
        exact = faiss.IndexFlatIP(d)
        exact.add(x)
        a, b, s = _range(exact, x, threshold)
        return rows[a], rows[b], s
    rng = np.random.default_rng(0)
    y = _pca(x, min(pca_dim, d), rng)
    nlist = _ivf_lists(n)
    ivf = faiss.IndexIVFFlat(
        faiss.IndexFlatIP(y.shape[1]), y.shape[1], nlist, faiss.METRIC_INNER_PRODUCT
    )
    ivf.cp.niter = 10
    ivf.train(y[np.sort(rng.choice(n, size=min(n, nlist * 40), replace=False))])
    ivf.add(y)
    ivf.nprobe = min(nprobe, nlist)
    a, b, _ = _range(ivf, y, threshold - margin)
    cos = np.einsum("ij,ij->i", x[a], x[b])
    keep = cos >= threshold
    return rows[a[keep]], rows[b[keep]], cos[keep].astype(np.float32)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bitwise Hamming distance of two uint64 arrays."""
    x = np.bitwise_xor(a.astype(np.uint64), b.astype(np.uint64))
    return np.unpackbits(x.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)


def burst_pairs(
    nodes: NodeData,
    *,
    window_s: float,
    min_cosine: float,
    max_phash_distance: int,
    use_embeddings: bool,
) -> Pairs:
    """Shots of one camera within ``window_s`` whose pixels agree loosely.

    Pixels agree when the embeddings reach ``min_cosine`` (if used) or the perceptual hashes
    are within ``max_phash_distance``. Score: the cosine, or 1 - distance/64 by hash.
    """
    camera_ids: dict[str, int] = {}
    cam = np.array([camera_ids.setdefault(c, len(camera_ids)) if c else -1 for c in nodes.camera])
    known = np.flatnonzero(~np.isnan(nodes.captured_s) & (cam >= 0))
    if len(known) < 2:
        return _EMPTY
    # Sorted by camera then time, a burst is a run of neighbours: compare each shot with the
    # next 1, 2, ... shots until no shot has a same-camera neighbour that close.
    order = known[np.lexsort((nodes.captured_s[known], cam[known]))]
    t, c = nodes.captured_s[order], cam[order]
    a_parts, b_parts = [], []
    for step in range(1, len(order)):
        close = (c[step:] == c[:-step]) & (t[step:] - t[:-step] <= window_s)
        if not close.any():
            break
        i, j = order[:-step][close], order[step:][close]
        a_parts.append(np.minimum(i, j))
        b_parts.append(np.maximum(i, j))
    if not a_parts:
        return _EMPTY
    a, b = np.concatenate(a_parts).astype(np.int64), np.concatenate(b_parts).astype(np.int64)
    hash_score = 1.0 - hamming(nodes.phash[a], nodes.phash[b]) / 64.0
    hash_ok = hash_score >= 1.0 - max_phash_distance / 64.0
    score = hash_score.astype(np.float32)
    ok = hash_ok
    if use_embeddings:
        both = nodes.has_embedding[a] & nodes.has_embedding[b]
        cos = np.einsum("ij,ij->i", nodes.embeddings[a], nodes.embeddings[b])
        cos_ok = both & (cos >= min_cosine)
        score = np.where(cos_ok, cos, score).astype(np.float32)
        ok = hash_ok | cos_ok
    return a[ok], b[ok], score[ok]
