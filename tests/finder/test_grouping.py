"""Grouping: each signal, complete linkage (no chaining), bursts, dismissals, the IVF path."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from finder.conftest import finder_settings
from photodup.finder.grouping import find_grouping, find_groups, group_library, group_photos
from photodup.finder.records import Photo
from photodup.finder.sample import SampleLibrary
from photodup.finder.scan import ScanSummary
from photodup.finder.store import Store

DIM = 512


def make_photo(pid: int, **fields: object) -> Photo:
    base: dict[str, object] = {
        "id": pid,
        "path": f"p{pid:03d}.jpg".encode(),
        "size": 1000 + pid,
        "mtime_ns": 0,
        "sha256": f"{pid:064x}",
        "width": 100,
        "height": 100,
        "format": "JPEG",
        "captured_at": None,
        "camera_make": None,
        "camera_model": None,
        "orientation": None,
        "phash": pid * 0x9E3779B97F4A7C15 % (1 << 64),  # far apart from each other
        "dhash": 0,
        "has_embedding": True,
    }
    base.update(fields)
    return Photo(**base)  # type: ignore[arg-type]


def unit_vectors_with_cosines(cosines: np.ndarray, seed: int = 0) -> np.ndarray:
    """Unit vectors whose Gram matrix is ``cosines`` (must be positive definite)."""
    chol = np.linalg.cholesky(cosines)
    basis, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((DIM, len(cosines))))
    return (chol @ basis.T).astype(np.float32)


def _ids(groups: list) -> list[set[int]]:
    return [{p.id for p in g.members} for g in groups]


def test_each_signal_links_what_it_should() -> None:
    settings = finder_settings(phash_distance=10, cosine_threshold=0.92)
    near_hash = make_photo(2, phash=make_photo(1).phash ^ 0x3FF)  # 10 bits differ
    far_hash = make_photo(3, phash=make_photo(1).phash ^ (0x7FF << 20))  # 11 bits differ
    copy = make_photo(4, sha256=make_photo(1).sha256, path=b"backup/p001.jpg")
    photos = [make_photo(1), near_hash, far_hash, copy]
    vectors = np.eye(4, DIM, dtype=np.float32)  # orthogonal: embeddings link nothing
    groups = group_photos(photos, {p.id: v for p, v in zip(photos, vectors, strict=True)}, settings)
    assert _ids(groups) == [{1, 2, 4}]
    signals = {(min(x.a, x.b), max(x.a, x.b), x.signal) for x in groups[0].pairs}
    assert (1, 4, "sha256") in signals and {s for *_, s in signals} == {"sha256", "phash"}
    phash_pair = next(x for x in groups[0].pairs if x.signal == "phash")
    assert phash_pair.score == 10

    cos = np.array([[1.0, 0.95, 0.2], [0.95, 1.0, 0.2], [0.2, 0.2, 1.0]])
    trio = [make_photo(i) for i in (11, 12, 13)]
    emb = dict(zip((11, 12, 13), unit_vectors_with_cosines(cos), strict=True))
    groups = group_photos(trio, emb, settings)
    assert _ids(groups) == [{11, 12}]
    (pair,) = groups[0].pairs
    assert pair.signal == "embedding" and pair.score == pytest.approx(0.95, abs=1e-5)
    assert group_photos(trio, emb, settings, signals=("sha256", "phash")) == []


def test_complete_linkage_does_not_chain_unrelated_photos(
    scanned_library: tuple[SampleLibrary, ScanSummary],
) -> None:
    """Real photos A, B, C with A~B and B~C above the threshold but A, C unrelated."""
    lib, _ = scanned_library
    with Store.open(lib.root) as store:
        by_path = {p.display_path: p for p in store.list_photos()}
    a, b, c = (by_path[f"originals/{n}.jpg"] for n in ("astronaut", "coffee", "motorcycle_left"))
    d = by_path["others/camera.jpg"]
    settings = finder_settings(cosine_threshold=0.92)
    # A-C at 0.82 is below both the link (0.92) and the group (0.85) thresholds; it is close
    # to the least two links of 0.96 and 0.94 allow (the angles add up).
    chain = np.array([[1.0, 0.96, 0.82], [0.96, 1.0, 0.94], [0.82, 0.94, 1.0]])
    emb = dict(zip((a.id, b.id, c.id), unit_vectors_with_cosines(chain), strict=True))
    groups = group_photos([a, b, c], emb, settings, signals=("embedding",))
    # Connected components would give {A, B, C}; complete linkage keeps the strongest pair.
    assert _ids(groups) == [{a.id, b.id}]
    assert groups[0].min_similarity == pytest.approx(0.96, abs=1e-4)
    # With A-C at 0.88 (not linked, but above group_cosine) C may join A and B.
    loose = np.array([[1.0, 0.96, 0.88], [0.96, 1.0, 0.94], [0.88, 0.94, 1.0]])
    emb = dict(zip((a.id, b.id, c.id), unit_vectors_with_cosines(loose), strict=True))
    groups = group_photos([a, b, c], emb, settings, signals=("embedding",))
    assert _ids(groups) == [{a.id, b.id, c.id}]
    assert {x.signal for x in groups[0].pairs} == {"embedding"} and len(groups[0].pairs) == 2
    # Four photos all linked to each other do form one group.
    clique = np.full((4, 4), 0.95) + np.eye(4) * 0.05
    emb = dict(zip((a.id, b.id, c.id, d.id), unit_vectors_with_cosines(clique), strict=True))
    groups = group_photos([a, b, c, d], emb, settings, signals=("embedding",))
    assert _ids(groups) == [{a.id, b.id, c.id, d.id}]
    assert len([x for x in groups[0].pairs if x.signal == "embedding"]) == 6


def test_real_sample_library_groups_verified_and_keeps_the_burst_apart(
    scanned_library: tuple[SampleLibrary, ScanSummary],
) -> None:
    lib, _ = scanned_library
    with Store.open(lib.root) as store:
        found = find_grouping(store, finder_settings())  # auto: random weights link nothing
        by_id = {p.id: p for p in store.list_photos()}
        cached = store.conn.execute("SELECT COUNT(*) FROM verifications").fetchone()[0]
        again = find_grouping(store, finder_settings())
    groups = found.duplicates
    families = [{by_id[p.id].display_path for p in g.members} for g in groups]
    for name in ("astronaut", "coffee"):
        expected = {f.path for f in lib.photos() if f.source == name}
        assert expected in families, (name, families)
    moto = next(f for f in families if "originals/motorcycle_left.jpg" in f)
    # The burst is a similar shot: never in a duplicate group, listed on its own.
    assert "burst/motorcycle_right.jpg" not in moto
    (shots,) = found.similar
    assert shots.kind == "similar" and "burst/motorcycle_right.jpg" in {
        by_id[p.id].display_path for p in shots.members
    }
    assert not any("others/camera.jpg" in f or "others/brick.jpg" in f for f in families)
    verified = [p for g in groups for p in g.pairs if p.signal == "verified"]
    assert verified and all(p.evidence is not None and p.evidence.inliers >= 15 for p in verified)
    assert all(p.kind in ("same", "edited", "cropped", "mirrored_rotated") for p in verified)
    assert "matching points" in verified[0].words
    # The second run verifies nothing again: every pair comes from the cache.
    assert cached >= len(verified) and found.stats["verified_now"] > 0
    assert again.stats["verified_now"] == 0
    assert [g.key for g in again.duplicates] == [g.key for g in groups]
    for g in groups:
        assert g.keeper.id == g.members[0].id and g.keeper_reason
        assert g.bytes_reclaimable == sum(p.size for p in g.members[1:])
        assert 0.0 <= g.min_similarity <= g.max_similarity <= 1.0
        assert "embedding" not in g.signals


def test_burst_needs_same_camera_and_close_capture_time(
    scanned_library: tuple[SampleLibrary, ScanSummary],
) -> None:
    """The stereo motorcycle pair: 1 s apart, same camera, pHash distance 4."""
    lib, _ = scanned_library
    with Store.open(lib.root) as store:
        by_path = {p.display_path: p for p in store.list_photos()}
    left, right = by_path["originals/motorcycle_left.jpg"], by_path["burst/motorcycle_right.jpg"]
    assert left.camera_model == right.camera_model and left.captured_at != right.captured_at
    # pHash alone must not link them here, so only the burst rule can.
    settings = finder_settings(phash_distance=2, burst_window_s=10, burst_phash_distance=16)
    signals = ("sha256", "phash", "burst")
    found = group_library([left, right], {}, settings, signals=signals)
    assert found.duplicates == []  # a burst is a similar shot, never a duplicate
    assert _ids(found.similar) == [{left.id, right.id}] and found.similar[0].kind == "similar"
    later = dataclasses.replace(right, captured_at="2031-01-01T00:00:00")
    assert group_library([left, later], {}, settings, signals=signals).similar == []
    other_camera = dataclasses.replace(right, camera_model="Other Model 2")
    assert group_library([left, other_camera], {}, settings, signals=signals).similar == []
    unrelated = by_path["originals/astronaut.jpg"]
    same_moment = dataclasses.replace(
        unrelated, captured_at=right.captured_at, camera_make=right.camera_make,
        camera_model=right.camera_model,
    )  # fmt: skip
    assert group_photos([left, same_moment], {}, settings, signals=signals) == []


def test_dismissed_groups_stay_dismissed(tmp_path: Path) -> None:
    root = tmp_path
    settings = finder_settings()
    with Store.open(root) as store:
        ids = []
        for i, flip in ((1, 0), (2, 0b11), (3, 0)):
            rec = make_photo(i, phash=0xF0F0F0F0F0F0F0F0 ^ flip)
            if i == 3:
                rec = make_photo(3, sha256=make_photo(1).sha256, phash=rec.phash)
            ids.append(store.upsert_photo(rec))
        (group,) = find_groups(store, settings)
        assert {p.id for p in group.members} == set(ids)
        key = group.key
        assert [g.key for g in find_groups(store, settings)] == [key]  # stable
        dismissal = store.dismiss(ids)
        assert find_groups(store, settings) == []
        store.undismiss(dismissal)
        assert [g.key for g in find_groups(store, settings)] == [key]


def test_ivf_index_finds_the_same_groups_as_exact_search() -> None:
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((1000, DIM)).astype(np.float32)
    rows = []
    for c in centres:
        for _ in range(int(rng.integers(1, 5))):
            rows.append(c + rng.standard_normal(DIM).astype(np.float32) * 0.25)
    vectors = np.stack(rows)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    photos = [make_photo(i + 1) for i in range(len(vectors))]
    emb = {p.id: v for p, v in zip(photos, vectors, strict=True)}
    exact = group_photos(photos, emb, finder_settings(), signals=("embedding",))
    approx = group_photos(
        photos, emb, finder_settings(exact_search_max=0, ivf_nprobe=16), signals=("embedding",)
    )
    assert len(exact) > 400
    found = {g.key for g in approx}
    recall = sum(g.key in found for g in exact) / len(exact)
    assert recall >= 0.95, recall
