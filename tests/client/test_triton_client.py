"""InferenceClient against the real local Triton, over HTTP and gRPC."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from client.helpers import (
    client_settings,
    cosine_rows,
    triton_counts,
    triton_counts_reaching,
    triton_counts_settled,
)
from photodup import contract
from photodup.client import InferenceClient, InferenceError, ShapeMismatchError
from photodup.imaging import preprocess_source
from photodup.triton import LocalTriton

MODEL = contract.TRITON_MODEL_NAME


@pytest.fixture(params=["http", "grpc"])
def triton_client(request: pytest.FixtureRequest, triton_server: LocalTriton) -> InferenceClient:
    url = triton_server.http_url if request.param == "http" else triton_server.grpc_url
    client = InferenceClient(url, "triton", protocol=request.param, settings=client_settings())
    request.addfinalizer(client.close)
    return client


def test_embeds_real_photos(
    triton_client: InferenceClient, real_photo_files: dict[str, Path]
) -> None:
    paths = list(real_photo_files.values())
    result = triton_client.embed_images(paths, names=[p.name for p in paths])
    assert result.errors == []
    assert result.ok == list(range(len(paths)))
    assert result.embeddings.shape == (len(paths), contract.EMBED_DIM)
    assert result.embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(result.embeddings, axis=1), 1.0, atol=1e-5)
    # The same bytes through the tensor path give the same vectors.
    direct = triton_client.embed_tensors(np.stack([preprocess_source(p) for p in paths]))
    assert cosine_rows(direct, result.embeddings).min() > 0.99999


def test_bad_images_are_reported_by_name(
    triton_client: InferenceClient, real_photo_files: dict[str, Path], tmp_path: Path
) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("this is not a photo")
    good = list(real_photo_files.values())[:2]
    result = triton_client.embed_images([good[0], empty, text, good[1]])
    assert result.ok == [0, 3]
    assert result.embeddings.shape == (2, contract.EMBED_DIM)
    assert [(e.index, e.name, e.kind) for e in result.errors] == [
        (1, str(empty), "empty"),
        (2, str(text), "not_an_image"),
    ]
    only_bad = triton_client.embed_images([empty], names=["holiday/empty.jpg"])
    assert only_bad.embeddings.shape == (0, contract.EMBED_DIM)
    assert only_bad.errors[0].name == "holiday/empty.jpg"


def test_oversized_batches_are_split(
    triton_client: InferenceClient, triton_server: LocalTriton
) -> None:
    n = contract.MAX_BATCH_SIZE + 5  # Triton itself refuses more than max_batch_size per request
    rng = np.random.default_rng(3)
    batch = rng.standard_normal((n, *contract.INPUT_SHAPE), dtype=np.float32)
    before, _ = triton_counts_settled(triton_server.http_url, MODEL)
    out = triton_client.embed_tensors(batch)
    after, _ = triton_counts_reaching(triton_server.http_url, MODEL, before + n)
    assert out.shape == (n, contract.EMBED_DIM)
    assert after - before == n
    # Order is kept across the split: the last rows match embedding them alone.
    tail = triton_client.embed_tensors(batch[-2:])
    assert cosine_rows(tail, out[-2:]).min() > 0.99999


def test_base64_files_are_preprocessed_client_side(
    triton_client: InferenceClient, real_photo_files: dict[str, Path]
) -> None:
    paths = list(real_photo_files.values())[:3]
    encoded = [base64.b64encode(p.read_bytes()).decode("ascii") for p in paths]
    vectors = triton_client.embed_base64_images(encoded)
    assert len(vectors) == 3 and all(len(v) == contract.EMBED_DIM for v in vectors)
    expected = triton_client.embed_images(paths).embeddings
    assert cosine_rows(np.asarray(vectors, dtype=np.float32), expected).min() > 0.99999
    with pytest.raises(InferenceError, match=r"image 1: .*base64"):
        triton_client.embed_base64_images([encoded[0], "%%% not base64 %%%"])


def test_server_info_and_readiness(triton_client: InferenceClient) -> None:
    assert triton_client.ready()
    triton_client.wait_until_ready(5)
    info = triton_client.server_info()
    assert info["backend"] == "triton"
    assert info["pretrained"] == "none"
    assert info["model_name"] == contract.MODEL_ARCH
    assert info["max_batch_size"] == contract.MAX_BATCH_SIZE
    assert info["triton_backend"] == "python"
    assert triton_client.max_batch_size() == contract.MAX_BATCH_SIZE


def test_bad_tensor_shape_is_refused_before_sending(triton_client: InferenceClient) -> None:
    with pytest.raises(InferenceError, match=r"shape \[N, 3, 224, 224\], got \[2, 3, 100, 100\]"):
        triton_client.embed_tensors(np.zeros((2, 3, 100, 100), dtype=np.float32))
    assert triton_client.embed_tensors(np.zeros((0, *contract.INPUT_SHAPE))).shape == (0, 512)


def test_unknown_model_name_is_explained(triton_server: LocalTriton) -> None:
    settings = client_settings(triton_model_name="no_such_model", retries=0)
    with InferenceClient(triton_server.http_url, "triton", settings=settings) as client:
        assert not client.ready()
        with pytest.raises(InferenceError, match=r"no_such_model.*TRITON_MODEL_NAME"):
            client.embed_tensors(np.zeros((1, *contract.INPUT_SHAPE), dtype=np.float32))


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_wrong_output_shape_is_a_clear_error(dummy_triton: LocalTriton, protocol: str) -> None:
    url = dummy_triton.http_url if protocol == "http" else dummy_triton.grpc_url
    settings = client_settings(triton_model_name="wrong_dim")
    client = InferenceClient(url, "triton", protocol=protocol, settings=settings)
    try:
        with pytest.raises(ShapeMismatchError, match=r"wrong_dim.*\(1, 256\).*\(1, 512\)"):
            client.embed_tensors(np.zeros((1, *contract.INPUT_SHAPE), dtype=np.float32))
    finally:
        client.close()


def test_split_follows_the_models_max_batch_size(dummy_triton: LocalTriton) -> None:
    settings = client_settings(triton_model_name="small_batch")
    with InferenceClient(dummy_triton.http_url, "triton", settings=settings) as client:
        assert client.max_batch_size() == 4
        before = triton_counts(dummy_triton.http_url, "small_batch")
        out = client.embed_tensors(np.zeros((10, *contract.INPUT_SHAPE), dtype=np.float32))
        after = triton_counts(dummy_triton.http_url, "small_batch")
    assert out.shape == (10, contract.EMBED_DIM)
    assert after[0] - before[0] == 10
    assert after[1] - before[1] == 3  # 4 + 4 + 2, sent one after another


def test_pil_images_can_be_embedded(triton_client: InferenceClient) -> None:
    img = Image.new("RGB", (300, 200), (200, 30, 30))
    assert triton_client.embed_pil([img, img]).shape == (2, contract.EMBED_DIM)
