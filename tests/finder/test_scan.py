"""Scanning real sample libraries through the real PyTorch service."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from finder.conftest import finder_settings
from fixtures.service import start_pytorch_service
from photodup.cli import app
from photodup.client import InferenceClient
from photodup.finder.sample import SampleLibrary
from photodup.finder.scan import ScanError, ScanSummary, scan_library
from photodup.finder.store import Store
from photodup.processes import free_port


def _by_path(store: Store) -> dict[str, object]:
    return {p.display_path: p for p in store.list_photos()}


def test_scan_indexes_photos_metadata_and_skipped_files(
    scanned_library: tuple[SampleLibrary, ScanSummary],
) -> None:
    lib, summary = scanned_library
    photos = lib.photos()
    assert summary.state == "completed"
    assert summary.files_seen == len(lib.files) + 1  # + manifest.json, not an image
    assert summary.ignored == 1
    assert summary.embedded == len(photos)
    assert dict(summary.skipped) == {"empty": 1, "truncated": 1, "not_an_image": 1}
    with Store.open(lib.root) as store:
        indexed = _by_path(store)
        assert set(indexed) == {f.path for f in photos}
        original = indexed["originals/astronaut.jpg"]
        assert (original.format, original.width, original.height) == ("JPEG", 512, 512)
        assert original.camera_make == "Canon" and original.camera_model == "Canon EOS 80D"
        assert original.captured_at is not None and original.captured_at.startswith("2024-05-")
        assert indexed["backup/astronaut.jpg"].sha256 == original.sha256
        # Stored sideways with EXIF orientation 6: indexed with its upright size.
        turned = indexed["copies/rotate_exif/coffee.jpg"]
        assert turned.orientation == 6
        assert (turned.width, turned.height) == (600, 400)
        assert indexed["copies/png/coffee.png"].format == "PNG"
        # Re-encoding barely moves the perceptual hash; a different photo is far away.
        assert bin(original.phash ^ indexed["copies/jpeg_q70/astronaut.jpg"].phash).count("1") <= 4
        assert bin(original.phash ^ indexed["originals/coffee.jpg"].phash).count("1") > 16
        ids, matrix = store.embeddings()
        assert len(ids) == len(photos) and matrix.shape == (len(photos), 512)
        np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-4)
        assert {(p.model, p.pretrained) for p in indexed.values()} == {("ViT-B-32", "none")}
        skipped = {s.display_path: s for s in store.skipped()}
        assert skipped["incoming/empty.jpg"].kind == "empty"
        assert skipped["incoming/truncated.jpg"].kind == "truncated"
        assert "not an image" in skipped["incoming/notes.jpg"].reason
        run = store.latest_run()
        assert run is not None and run.state == "completed"
        assert (run.embedded, run.skipped, run.files_seen) == (len(photos), 3, len(lib.files) + 1)


def test_rescan_of_an_unchanged_library_reads_no_file(
    sample_library: SampleLibrary, client: InferenceClient
) -> None:
    settings = finder_settings()
    first = scan_library(sample_library.root, client, settings)
    # Overwrite a photo with garbage but keep its size and mtime: a scan that read the file
    # would now record it as skipped and change its hash.
    target = sample_library.root / "originals/coffee.jpg"
    st = target.stat()
    target.write_bytes(b"\0" * st.st_size)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    with Store.open(sample_library.root) as store:
        before = store.get_photo_by_path(b"originals/coffee.jpg")
    second = scan_library(sample_library.root, client, settings)
    assert second.embedded == 0 and sum(second.skipped.values()) == 0
    # Everything but manifest.json (probed: it has no image extension) counts as unchanged.
    assert second.unchanged == first.files_seen - 1
    with Store.open(sample_library.root) as store:
        after = store.get_photo_by_path(b"originals/coffee.jpg")
    assert before is not None and after is not None and after.sha256 == before.sha256


def test_changed_deleted_new_and_other_model_files(
    sample_library: SampleLibrary, client: InferenceClient
) -> None:
    root = sample_library.root
    settings = finder_settings()
    scan_library(root, client, settings)
    # changed content, a deletion, a good file turned truncated, a new non-UTF-8 name
    (root / "copies/png/coffee.png").write_bytes((root / "originals/astronaut.jpg").read_bytes())
    (root / "copies/crop_05/astronaut.jpg").unlink()
    good = (root / "originals/motorcycle_left.jpg").read_bytes()
    (root / "originals/motorcycle_left.jpg").write_bytes(good[: len(good) // 3])
    weird = os.path.join(os.fsencode(root), b"new-\xff\xfe.jpg")
    with open(weird, "wb") as fh:
        fh.write((root / "others/camera.jpg").read_bytes())
    with Store.open(root) as store:
        old_ids = {p.display_path: p.id for p in store.list_photos()}
        # Pretend two photos were embedded by other weights: they must be embedded again.
        store.conn.execute(
            "UPDATE photos SET pretrained='other' WHERE display_path IN (?, ?)",
            ("others/brick.jpg", "copies/jpeg_q70/coffee.jpg"),
        )
    summary = scan_library(root, client, settings)
    assert summary.embedded == 4  # changed png + new file + two with another model tag
    assert summary.removed == 1
    assert dict(summary.skipped) == {"truncated": 1}
    with Store.open(root) as store:
        photos = _by_path(store)
        assert "copies/crop_05/astronaut.jpg" not in photos
        assert "originals/motorcycle_left.jpg" not in photos
        assert photos["copies/png/coffee.png"].format == "JPEG"  # content decides
        assert photos["copies/png/coffee.png"].id == old_ids["copies/png/coffee.png"]
        assert photos["copies/png/coffee.png"].sha256 == photos["originals/astronaut.jpg"].sha256
        new = store.get_photo_by_path(b"new-\xff\xfe.jpg")
        assert new is not None and new.display_path == "new-\\xff\\xfe.jpg"
        assert new.abs_path(root).read_bytes() == (root / "others/camera.jpg").read_bytes()
        assert {p.pretrained for p in photos.values()} == {"none"}
        kinds = {s.display_path: s.kind for s in store.skipped()}
        assert kinds["originals/motorcycle_left.jpg"] == "truncated"


def test_backend_down_stops_with_url_and_backend_named(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"not really")
    url = f"http://127.0.0.1:{free_port()}"
    with InferenceClient(url, "pytorch") as down, pytest.raises(ScanError) as err:
        scan_library(tmp_path, down, finder_settings(backend_wait_s=0.5))
    assert url in str(err.value) and "pytorch" in str(err.value)
    result = CliRunner().invoke(
        app, ["scan", str(tmp_path), "--url", url, "--backend", "pytorch", "--backend-wait", "0.5"]
    )
    assert result.exit_code == 1
    assert url in result.output and "not ready" in result.output


def test_backend_lost_mid_scan_keeps_embedded_work(sample_library: SampleLibrary) -> None:
    root = sample_library.root
    total = len(sample_library.photos())
    with start_pytorch_service() as service, InferenceClient(service.url, "pytorch") as c:

        def stop_after_first_batch(done: int, _total: int) -> None:
            if done >= 4 and service.process.poll() is None:
                service.stop()

        settings = finder_settings(backend_wait_s=1.0, requests_in_flight=1, batch_size=4)
        with pytest.raises(ScanError) as err:
            scan_library(root, c, settings, progress=stop_after_first_batch)
    assert service.url in str(err.value) and "kept" in str(err.value)
    with Store.open(root) as store:
        kept = len(store.list_photos())
        run = store.latest_run()
    assert 4 <= kept < total
    assert run is not None and run.state == "failed" and run.embedded == kept


def test_copy_of_library_elsewhere_is_a_new_index(
    scanned_library: tuple[SampleLibrary, ScanSummary], tmp_path: Path
) -> None:
    # Paths are stored relative to the library, so a moved library keeps its index.
    lib, _ = scanned_library
    moved = tmp_path / "moved"
    shutil.copytree(lib.root, moved)
    with Store.open(moved) as store:
        photo = store.get_photo_by_path(b"originals/astronaut.jpg")
        assert photo is not None and photo.abs_path(moved).is_file()
