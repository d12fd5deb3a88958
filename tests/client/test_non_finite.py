"""D9 through the client: NaN/inf never leave it, and a non-finite embedding never comes back.

The same checks on every backend: the PyTorch service, and Triton over HTTP and gRPC (which,
unlike the service, would take NaN in and answer NaN).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from client.helpers import client_settings, triton_counts
from fixtures.service import ServiceProcess
from photodup import contract
from photodup.client import InferenceClient, NonFiniteError
from photodup.triton import LocalTriton

BACKENDS = [("pytorch", "http"), ("triton", "http"), ("triton", "grpc")]


@pytest.fixture(params=BACKENDS, ids=["-".join(p) for p in BACKENDS])
def any_client(request: pytest.FixtureRequest) -> Iterator[InferenceClient]:
    backend, protocol = request.param
    if backend == "pytorch":
        service: ServiceProcess = request.getfixturevalue("pytorch_service")
        url = service.url
    else:
        triton: LocalTriton = request.getfixturevalue("triton_server")
        url = triton.http_url if protocol == "http" else triton.grpc_url
    with InferenceClient(url, backend, protocol=protocol, settings=client_settings()) as client:
        yield client


def _photos(photo_tensors: dict[str, np.ndarray]) -> np.ndarray:
    return np.stack(list(photo_tensors.values())[:3]).copy()


@pytest.fixture(scope="module")
def photo_tensors(real_photo_files: dict) -> dict[str, np.ndarray]:
    from photodup.imaging import preprocess_source

    return {name: preprocess_source(path) for name, path in real_photo_files.items()}


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_are_refused_before_sending(
    any_client: InferenceClient,
    photo_tensors: dict[str, np.ndarray],
    value: float,
    request: pytest.FixtureRequest,
) -> None:
    batch = _photos(photo_tensors)
    batch[2, 0, 0, 0] = value
    counts = None
    if any_client.backend == "triton":
        http_url = request.getfixturevalue("triton_server").http_url
        counts = triton_counts(http_url, contract.TRITON_MODEL_NAME)
    with pytest.raises(NonFiniteError) as err:
        any_client.embed_tensors(batch)
    assert err.value.indices == [2]
    assert "images [2]" in str(err.value) and "nothing was sent" in str(err.value)
    assert any_client.url in str(err.value)
    if counts is not None:  # Triton never saw the request
        assert triton_counts(http_url, contract.TRITON_MODEL_NAME) == counts


@pytest.mark.parametrize("value", [1e30, 3e38])
def test_huge_values_are_refused_before_sending(
    any_client: InferenceClient, photo_tensors: dict[str, np.ndarray], value: float
) -> None:
    batch = _photos(photo_tensors)
    batch[1, 1, 50:60, 50:60] = value
    # The PyTorch model turns these into NaN, ONNX Runtime into finite garbage: both refused.
    with pytest.raises(NonFiniteError) as err:
        any_client.embed_tensors(batch)
    assert err.value.indices == [1]
    assert "[-1.8, 2.2]" in str(err.value) and f"{value:.3g}" in str(err.value)
    # The same client goes on embedding good photos.
    good = any_client.embed_tensors(_photos(photo_tensors))
    assert np.isfinite(good).all() and good.shape == (3, contract.EMBED_DIM)


def test_a_nan_answer_from_the_model_is_an_error_not_data(
    dummy_triton: LocalTriton, photo_tensors: dict[str, np.ndarray]
) -> None:
    """A (dummy) model that answers NaN for its second image, over both protocols."""
    for protocol in ("http", "grpc"):
        url = dummy_triton.http_url if protocol == "http" else dummy_triton.grpc_url
        settings = client_settings(triton_model_name="nan_output")
        client = InferenceClient(url, "triton", protocol=protocol, settings=settings)
        with client, pytest.raises(NonFiniteError) as err:
            client.embed_tensors(_photos(photo_tensors))
        assert err.value.indices == [1]
        assert "returned NaN or infinite embeddings for images [1]" in str(err.value)
