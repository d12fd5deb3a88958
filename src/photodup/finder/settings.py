"""Settings of the finder (scan, grouping, eval), read from ``PHOTODUP_*`` variables.

Every field is documented with its default in docs/finder.md. Command-line options override
the fields they name; nothing else reads the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_workers() -> int:
    # Leave one core to the main process, which feeds the backend and writes the index.
    return max(1, (os.cpu_count() or 2) - 1)


class FinderSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PHOTODUP_", env_file=None, extra="ignore")

    #: Index location; empty means ``<library>/.photodup/index.db``.
    db_path: Path | None = None
    #: Folder (inside ``<library>/.photodup/``) that receives photos moved aside.
    quarantine_dir: str = "quarantine"

    # --- scan -------------------------------------------------------------------------
    #: Decode/preprocess/hash worker processes.
    workers: int = Field(default_factory=_default_workers, ge=1)
    #: Photos per request sent to the backend.
    batch_size: int = Field(32, ge=1, le=256)
    #: Embedding requests kept in flight at once, so the server (Triton's dynamic batcher or
    #: the service's micro-batcher) always has queued work.
    requests_in_flight: int = Field(2, ge=1, le=64)
    #: How long to wait for a backend that is down or not ready before giving up.
    backend_wait_s: float = Field(60.0, ge=0)

    # --- grouping ---------------------------------------------------------------------
    #: Cosine similarity at or above which two embeddings are near-duplicates.
    cosine_threshold: float = Field(0.92, ge=-1.0, le=1.0)
    #: Perceptual-hash (pHash, 64 bit) Hamming distance at or below which two photos match.
    phash_distance: int = Field(10, ge=0, le=32)
    #: Complete linkage: two photos may share a group only if they are linked, or at least
    #: this similar (cosine) ...
    group_cosine: float = Field(0.85, ge=-1.0, le=1.0)
    #: ... or this close by pHash. Looser than the link thresholds so that, e.g., a crop and
    #: a screenshot of one photo can join it together, yet unrelated photos never chain.
    group_phash_distance: int = Field(16, ge=0, le=64)
    #: Burst: shots of one camera at most this many seconds apart ...
    burst_window_s: float = Field(10.0, ge=0)
    #: ... whose embeddings are at least this similar (looser than ``cosine_threshold``) ...
    burst_cosine: float = Field(0.80, ge=-1.0, le=1.0)
    #: ... or whose perceptual hashes are within this distance.
    burst_phash_distance: int = Field(16, ge=0, le=64)
    #: Use the embedding signal: ``auto`` uses it unless the embeddings came from random
    #: weights (``pretrained=none``), which carry no meaning; ``on`` forces it, ``off`` drops it.
    use_embeddings: Literal["auto", "on", "off"] = "auto"
    #: Up to this many photos the cosine search is exact; above it an IVF index is used.
    exact_search_max: int = Field(20_000, ge=0)
    #: IVF lists probed per query for large libraries (recall/speed trade-off, measured).
    ivf_nprobe: int = Field(16, ge=1)
    #: Large libraries: the IVF index works on a PCA projection to this many dimensions ...
    ivf_pca_dim: int = Field(128, ge=8, le=512)
    #: ... searched this far below ``cosine_threshold``; candidates are then re-checked
    #: with the full 512-d vectors.
    ivf_margin: float = Field(0.07, ge=0.0, le=1.0)

    # --- geometric verification (docs/finder.md, "Verification") ----------------------
    #: Verify candidate pairs with local features (ORB); off: the hash/embedding rules alone.
    verify: bool = True
    #: Candidates: pHashes within this many bits reach verification ...
    candidate_phash_distance: int = Field(16, ge=0, le=32)
    #: ... and so do pairs whose mirrored or 90/180/270-turned pHash is this close.
    candidate_variant_distance: int = Field(12, ge=0, le=32)
    #: Candidates: each photo's k nearest neighbours by embedding (any weights, even random).
    candidate_knn: int = Field(8, ge=0, le=64)
    #: A duplicate needs at least this many matches that agree on one transform ...
    min_inliers: int = Field(15, ge=4)
    #: ... and a shared region covering at least this share of each photo (a quarter tile
    #: covers 0.25 of its original, a 30 % crop 0.49).
    min_coverage: float = Field(0.4, ge=0.0, le=1.0)
    #: Complete linkage: two verified photos may share a group (each linked to the others
    #: by someone) if their shared region covers this much of each: a 30 % crop and a
    #: screenshot of one photo share 0.39 of the screenshot.
    group_coverage: float = Field(0.2, ge=0.0, le=1.0)
    #: A pair with more than this share of matches just outside the fit is a similar shot
    #: (parallax or motion), not a copy.
    max_near_miss: float = Field(0.5, ge=0.0, le=1.0)
    #: Capture times at least this far apart: two shots, not copies (copies keep the time).
    min_shot_gap_s: float = Field(1.0, ge=0.0)
    #: Photos indexed without local features (an index from before schema 2) get them in
    #: ``groups`` from their files, up to this many (about 10 ms each); above, they are
    #: grouped by their other signals.
    lazy_features_max: int = Field(5000, ge=0)


def get_finder_settings(**overrides: object) -> FinderSettings:
    """Settings from the environment with command-line overrides (``None`` means unset)."""
    given = {k: v for k, v in overrides.items() if v is not None}
    # Init arguments take precedence over the environment and are validated the same way.
    return FinderSettings(**given)  # type: ignore[arg-type]
