"""The scan pipeline on real files through the real service: bounded memory, content once."""

from __future__ import annotations

import gc
import os
import shutil
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from finder.conftest import finder_settings
from photodup.client import InferenceClient
from photodup.finder.derive import encode
from photodup.finder.pipeline import Pipeline, tensor_window
from photodup.finder.scan import scan_library
from photodup.finder.scanplan import ScanPlan
from photodup.finder.sources import load_real_photo
from photodup.finder.store import Store
from photodup.finder.summary import ScanSummary
from photodup.finder.walk import iter_library
from serving.helpers import metric

TENSOR_BYTES = 3 * 224 * 224 * 4


def distinct_photos(folder: Path, count: int, size: tuple[int, int] = (160, 120)) -> list[Path]:
    """``count`` different small JPEGs: crops of real photos at distinct offsets."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = [load_real_photo(n) for n in ("astronaut", "coffee", "chelsea", "rocket")]
    paths = []
    for i in range(count):
        src = sources[i % len(sources)]
        step = i // len(sources)
        box = (3 * step, 2 * step, 3 * step + 300, 2 * step + 225)
        img = src.crop(box).resize(size, Image.Resampling.BILINEAR)
        path = folder / f"IMG_{i:04d}.jpg"
        path.write_bytes(encode(img, "JPEG"))
        paths.append(path)
    return paths


def images_embedded(url: str) -> float:
    return metric(url, "photodup_images_total")


def _scan_live_memory(root: Path, client: InferenceClient, settings: object) -> tuple[Any, int]:
    """Scan ``root``; returns the summary and the most Python memory alive at a progress step.

    Garbage is collected before each reading: the HTTP client leaves request bodies in
    reference cycles that the collector frees at its own pace, which is noise, not growth.
    """
    live: list[int] = []

    def sample(_done: int, _total: int) -> None:
        gc.collect()
        live.append(tracemalloc.get_traced_memory()[0])

    tracemalloc.start()
    try:
        summary = scan_library(root, client, settings, progress=sample)  # type: ignore[arg-type]
    finally:
        tracemalloc.stop()
    return summary, max(live)


def test_decoded_photos_alive_at_once_stay_within_the_window(
    tmp_path: Path, pytorch_service: object
) -> None:
    # The backend (ViT-B-32 on shared CPUs) is far slower than decoding 160x120 JPEGs, so
    # without back-pressure the decoded photos of the whole library would pile up.
    small, large = 16, 96
    distinct_photos(tmp_path / "warm", 2)
    distinct_photos(tmp_path / "small", small)
    distinct_photos(tmp_path / "large", large)
    settings = finder_settings(workers=2, batch_size=2, requests_in_flight=1)
    window = tensor_window(settings)
    assert window == 8
    url = pytorch_service.url
    with InferenceClient(url, "pytorch") as client:
        scan_library(tmp_path / "warm", client, settings)  # imports and connections
        small_summary, small_peak = _scan_live_memory(tmp_path / "small", client, settings)
        summary, peak = _scan_live_memory(tmp_path / "large", client, settings)
    assert summary.state == "completed" and summary.embedded == large
    assert summary.tensor_window == window
    # The counter of decoded photos alive reached the bound and never went past it ...
    assert small_summary.peak_tensors == summary.peak_tensors == window
    # ... and the memory alive in the main process agrees, independently of that counter:
    # six times the photos cost no more than a few tensors' worth, where without the bound
    # the 80 extra decoded photos alone would be 48 MB.
    growth = peak - small_peak
    assert growth < 6 * TENSOR_BYTES, f"peak grew {growth / 2**20:.1f} MB"
    bound = (window + 2 * settings.batch_size) * TENSOR_BYTES + 16 * 2**20
    assert peak < bound, f"peak {peak / 2**20:.1f} MB >= {bound / 2**20:.1f} MB"


def test_mirrored_backup_and_twins_are_embedded_once(
    tmp_path: Path, pytorch_service: object
) -> None:
    root = tmp_path / "lib"
    originals = distinct_photos(root / "originals", 6)
    shutil.copytree(root / "originals", root / "backup", copy_function=shutil.copy2)
    # A twin next to its original, as phones and downloads make them: examined one after
    # the other, so the second must see the first's hash within the same scan.
    shutil.copy2(originals[0], root / "originals" / "IMG_0000 (1).jpg")
    url = pytorch_service.url
    settings = finder_settings(workers=2, batch_size=4)
    with InferenceClient(url, "pytorch") as client:
        before = images_embedded(url)
        summary = scan_library(root, client, settings)
        assert images_embedded(url) - before == 6  # one per distinct content
        assert (summary.embedded, summary.reused, summary.computed) == (13, 7, 6)
        with Store.open(root) as store:
            photos = {p.display_path: p for p in store.list_photos()}
            ids, matrix = store.embeddings()
        vectors = dict(zip(ids.tolist(), matrix, strict=True))
        assert len(photos) == 13 and set(vectors) == {p.id for p in photos.values()}
        for name in ("IMG_0000.jpg", "IMG_0003.jpg"):
            original, copy = photos[f"originals/{name}"], photos[f"backup/{name}"]
            assert copy.sha256 == original.sha256 and copy.phash == original.phash
            assert (copy.width, copy.height, copy.format) == (160, 120, "JPEG")
            np.testing.assert_array_equal(vectors[copy.id], vectors[original.id])
        twin = photos["originals/IMG_0000 (1).jpg"]
        np.testing.assert_array_equal(
            vectors[twin.id], vectors[photos["originals/IMG_0000.jpg"].id]
        )

        # A rescan reads nothing; a touched copy and a new copy reuse the index's embedding.
        os.utime(root / "backup" / "IMG_0001.jpg", ns=(1, 1_700_000_000 * 10**9))
        shutil.copy2(originals[2], root / "again.jpg")
        before = images_embedded(url)
        second = scan_library(root, client, settings)
        assert images_embedded(url) == before
        assert (second.embedded, second.reused, second.unchanged) == (2, 2, 12)

        # Deleting the original keeps its copies' records and embeddings.
        (root / "originals" / "IMG_0002.jpg").unlink()
        third = scan_library(root, client, settings)
        assert third.removed == 1 and third.embedded == 0
    with Store.open(root) as store:
        left = {p.display_path: p for p in store.list_photos()}
        ids, matrix = store.embeddings()
    assert "originals/IMG_0002.jpg" not in left
    for path in ("backup/IMG_0002.jpg", "again.jpg"):
        assert (
            left[path].has_embedding and left[path].sha256 == photos["backup/IMG_0002.jpg"].sha256
        )
    assert len(ids) == 13


@pytest.mark.parametrize("twins", [2, 9])
def test_same_size_files_that_differ_are_all_embedded(
    tmp_path: Path, pytorch_service: object, twins: int
) -> None:
    # Uncompressed BMPs of one size: every file has the same size but its own content, so
    # none may be taken for a copy, and more than 2 x workers of them are not held back.
    root = tmp_path / "lib"
    root.mkdir()
    for i in range(twins):
        Image.new("RGB", (64, 48), (20 * i, 255 - 20 * i, 7 * i)).save(root / f"s{i}.bmp")
    assert len({p.stat().st_size for p in root.iterdir()}) == 1
    url = pytorch_service.url
    with InferenceClient(url, "pytorch") as client:
        before = images_embedded(url)
        summary = scan_library(root, client, finder_settings(workers=2, batch_size=4))
        assert images_embedded(url) - before == twins
    assert (summary.embedded, summary.reused) == (twins, 0)


def test_a_twin_that_changes_size_after_the_walk_does_not_strand_the_others(
    tmp_path: Path, pytorch_service: object
) -> None:
    # Three same-size BMPs are planned as twins; one worker, so the second and third wait
    # for the first. The first grows after the walk: the pipeline must release the files
    # waiting on its planned size, not on the size the worker read.
    root = tmp_path / "lib"
    root.mkdir()
    for i in range(3):
        Image.new("RGB", (64, 48), (40 * i, 90, 200 - 40 * i)).save(root / f"s{i}.bmp")
    settings = finder_settings(workers=1, batch_size=2, requests_in_flight=1)
    with (
        InferenceClient(pytorch_service.url, "pytorch") as client,  # type: ignore[attr-defined]
        Store.open(root) as store,
    ):
        info = client.server_info()
        tag = (str(info["model_name"]), str(info["pretrained"]))
        summary = ScanSummary(root)
        summary.run_id = store.start_run(backend="pytorch", url=client.url, model=tag[0],
                                         pretrained=tag[1])  # fmt: skip
        plan = ScanPlan(store, root)
        plan.record_walk(iter_library(root, {}), [])
        assert plan.select_todo(*tag) == 3
        assert all(f.twin for f in plan.todo())
        Image.new("RGB", (80, 60), (0, 90, 200)).save(root / "s0.bmp")  # after the walk
        Pipeline(store, client, settings, summary, tag).run(plan.todo(), 3, None)
        assert sorted(p.display_path for p in store.list_photos()) == [
            "s0.bmp", "s1.bmp", "s2.bmp",
        ]  # fmt: skip
        assert store.get_photo_by_path(b"s0.bmp").width == 80  # type: ignore[union-attr]
    assert (summary.embedded, summary.reused) == (3, 0)


def test_a_frozen_backend_mid_scan_ends_in_bounded_time_with_a_clear_error(
    tmp_path: Path,
) -> None:
    import signal
    import time

    from fixtures.service import start_pytorch_service
    from photodup.finder.scan import ScanError
    from photodup.settings import ClientSettings

    distinct_photos(tmp_path / "lib", 24)
    settings = finder_settings(workers=2, batch_size=4, requests_in_flight=2, backend_wait_s=2)
    # Generous: a batch of 4 takes seconds on shared cores; a frozen backend never answers.
    timeout_s = 20
    client_settings = ClientSettings(INFERENCE_TIMEOUT_S=timeout_s, INFERENCE_RETRIES=0)  # type: ignore[call-arg]
    with start_pytorch_service() as service:
        pid = service.process.pid
        frozen_at: list[float] = []

        def freeze_after_first_batch(done: int, _total: int) -> None:
            if done >= 4 and not frozen_at:
                os.kill(pid, signal.SIGSTOP)  # alive, port open, never answers
                frozen_at.append(time.monotonic())

        try:
            with (
                InferenceClient(service.url, "pytorch", settings=client_settings) as client,
                pytest.raises(ScanError) as err,
            ):
                scan_library(tmp_path / "lib", client, settings, progress=freeze_after_first_batch)
            assert frozen_at, f"failed before the freeze: {err.value}"
            waited = time.monotonic() - frozen_at[0]
        finally:
            os.kill(pid, signal.SIGCONT)
    # Bounded: the request timeout, plus the wait for the backend, plus shutdown slack.
    assert waited < timeout_s + 2 + 10, waited
    message = str(err.value)
    assert service.url in message and "pytorch" in message and "kept" in message
    with Store.open(tmp_path / "lib") as store:
        run = store.latest_run()
        kept = len(store.list_photos())
    assert run is not None and run.state == "failed" and 4 <= kept < 24
