"""The bench photos: generated 12 MP JPEGs from real photos, or a user's folder."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photodup.bench.inputs import PHONE_SIZE, generate_phone_set, load_inputs


def test_generated_set_is_phone_sized_and_cached(tmp_path: Path) -> None:
    paths = generate_phone_set(2, tmp_path)
    sizes = [Image.open(p).size for p in paths]
    assert sizes == [PHONE_SIZE, PHONE_SIZE[::-1]]  # landscape and portrait
    first = paths[0].stat().st_mtime_ns
    assert generate_phone_set(2, tmp_path) == paths
    assert paths[0].stat().st_mtime_ns == first  # reused, not rewritten

    inputs = load_inputs(2, tmp_path)
    assert inputs.tensors.shape == (2, 3, 224, 224) and inputs.tensors.dtype == np.float32
    assert inputs.describe()["mean_file_bytes"] > 500_000  # a 12 MP q90 JPEG, not a thumbnail
    batch = inputs.tensor_batch(1, 3)  # cycles through the set
    assert np.array_equal(batch[0], inputs.tensors[1]) and np.array_equal(
        batch[1], inputs.tensors[0]
    )


def test_folder_with_a_bad_file_names_it_and_goes_on(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (10, 200, 30)).save(buf, "JPEG")
    (tmp_path / "good.jpg").write_bytes(buf.getvalue())
    (tmp_path / "broken.jpg").write_bytes(buf.getvalue()[:300])
    (tmp_path / "notes.txt").write_text("not a photo")
    inputs = load_inputs(10, tmp_path / "cache", tmp_path)
    assert inputs.names == ["good.jpg"]
    assert len(inputs.skipped) == 1 and "broken.jpg" in inputs.skipped[0]


def test_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no image files"):
        load_inputs(4, tmp_path / "cache", tmp_path)
