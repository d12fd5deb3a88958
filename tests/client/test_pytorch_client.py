"""InferenceClient against the real PyTorch service (``photodup serve``, pretrained=none)."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest

from client.helpers import client_settings, cosine_rows
from fixtures.service import ServiceProcess
from photodup import contract
from photodup.client import InferenceClient, InferenceError


@pytest.fixture
def pytorch_client(pytorch_service: ServiceProcess) -> InferenceClient:
    return InferenceClient(pytorch_service.url, "pytorch", settings=client_settings(batch_size=4))


def test_tensor_and_base64_paths_agree(
    pytorch_client: InferenceClient, real_photo_files: dict[str, Path]
) -> None:
    paths = list(real_photo_files.values())[:6]  # more than batch_size=4: two requests
    with pytorch_client as client:
        tensors = client.embed_images(paths)
        encoded = [base64.b64encode(p.read_bytes()).decode("ascii") for p in paths]
        server_side = np.asarray(client.embed_base64_images(encoded), dtype=np.float32)
    assert tensors.errors == [] and tensors.embeddings.shape == (6, contract.EMBED_DIM)
    np.testing.assert_allclose(np.linalg.norm(tensors.embeddings, axis=1), 1.0, atol=1e-5)
    # The service decodes with the same photodup.imaging code, so only float noise differs.
    assert cosine_rows(server_side, tensors.embeddings).min() > 0.9999


def test_bad_images_are_reported_and_named(
    pytorch_client: InferenceClient, real_photo_files: dict[str, Path], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.jpg"
    good = next(iter(real_photo_files.values()))
    broken.write_bytes(good.read_bytes()[:2000])  # a truncated JPEG
    with pytorch_client as client:
        result = client.embed_images([broken, good])
        assert result.ok == [1]
        ((error),) = result.errors
        assert (error.index, error.name) == (0, str(broken))
        assert error.kind in {"truncated", "corrupt"}
        encoded = base64.b64encode(broken.read_bytes()).decode("ascii")
        with pytest.raises(InferenceError, match=r"HTTP 4\d\d.*image 0"):
            client.embed_base64_images([encoded])


def test_server_info(pytorch_client: InferenceClient) -> None:
    with pytorch_client as client:
        assert client.ready()
        info = client.server_info()
        assert info["backend"] == "pytorch"
        assert info["pretrained"] == "none"
        assert info["dim"] == contract.EMBED_DIM
        assert client.max_batch_size() == 4  # INFERENCE_BATCH_SIZE caps the server's limit
