"""D9: the service never returns a non-finite embedding, whatever numbers arrive.

NaN, infinity and finite but huge values (1e30, 3e38, which overflow inside the model into NaN
embeddings) are refused on the way in, naming the image; a non-finite output is refused on the
way out.
"""

from __future__ import annotations

import numpy as np
import pytest

from fixtures.service import ServiceProcess
from photodup.contract import EMBED_DIM, INPUT_SHAPE, MAX_ABS_INPUT
from photodup.serving.embedding import check_embeddings
from photodup.serving.errors import RequestProblem
from serving.helpers import assert_error, embed_tensors, post_tensors


def _batch_with(photo_tensors: dict[str, np.ndarray], index: int, value: float) -> np.ndarray:
    batch = np.stack(list(photo_tensors.values())[:3]).copy()
    batch[index, 1, 100:110, 100:110] = value
    return batch


@pytest.mark.parametrize("value", [1e30, 3e38, -3e38, 2 * MAX_ABS_INPUT])
def test_huge_finite_values_are_422_naming_the_image_not_nan_embeddings(
    pytorch_service: ServiceProcess, photo_tensors: dict[str, np.ndarray], value: float
) -> None:
    response = post_tensors(pytorch_service.url, _batch_with(photo_tensors, 1, value))
    detail = assert_error(response, 422, "out_of_range")
    assert [item["index"] for item in detail["items"]] == [1]
    assert "[-1.8, 2.2]" in detail["error"]
    assert f"{abs(value):.3g}" in detail["items"][0]["error"]


def test_values_at_the_limit_still_embed(
    pytorch_service: ServiceProcess, photo_tensors: dict[str, np.ndarray]
) -> None:
    # Random normal tensors (the parity inputs) and the limit itself are not refused.
    vectors = embed_tensors(pytorch_service.url, _batch_with(photo_tensors, 0, 50.0))
    assert np.isfinite(vectors).all()


def test_a_non_finite_engine_output_is_refused_naming_the_image() -> None:
    batch = np.zeros((3, *INPUT_SHAPE), dtype=np.float32)
    out = np.ones((3, EMBED_DIM), dtype=np.float32)
    assert check_embeddings(out, batch) is out
    out[2, 7] = np.nan
    with pytest.raises(RequestProblem) as err:
        check_embeddings(out, batch)
    assert err.value.kind == "non_finite_output" and err.value.category == "invalid"
    assert [item.index for item in err.value.items] == [2]


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_are_refused_before_the_model(
    pytorch_service: ServiceProcess, photo_tensors: dict[str, np.ndarray], value: float
) -> None:
    response = post_tensors(pytorch_service.url, _batch_with(photo_tensors, 2, value))
    detail = assert_error(response, 422, "non_finite")
    assert [item["index"] for item in detail["items"]] == [2]


def test_the_good_images_still_embed_afterwards(
    pytorch_service: ServiceProcess, photo_tensors: dict[str, np.ndarray]
) -> None:
    post_tensors(pytorch_service.url, _batch_with(photo_tensors, 0, 3e38))
    vectors = embed_tensors(pytorch_service.url, np.stack(list(photo_tensors.values())[:3]))
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
