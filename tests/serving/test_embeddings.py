"""The service returns the model's embeddings: unit-norm, 512-d, the same as running the model
in this process, and the same whether the photo is sent as a file or as a tensor."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PIL import Image

from fixtures.service import ServiceProcess
from photodup.contract import EMBED_DIM
from photodup.imaging import preprocess_source
from photodup.model.openclip import ImageEmbedder
from serving.helpers import embed_base64, embed_tensors, reference_embeddings

#: Same weights and pixels; only thread scheduling of the float32 reductions differs,
#: which moves cosines by ~1e-7. A different image or wrong preprocessing gives < 0.99.
SAME = 0.9999


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.sum(a * b, axis=1)


def test_tensor_embeddings_match_the_model_in_process(
    pytorch_service: ServiceProcess,
    photo_tensors: dict[str, np.ndarray],
    reference_embedder: ImageEmbedder,
) -> None:
    batch = np.stack(list(photo_tensors.values()))
    served = embed_tensors(pytorch_service.url, batch)
    assert served.shape == (len(batch), EMBED_DIM)
    assert served.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(served, axis=1), 1.0, atol=1e-5)
    expected = reference_embeddings(reference_embedder, batch)
    assert _cosines(served, expected).min() > SAME
    # The order is kept: each row is closest to its own photo's reference, not another's.
    assert (np.argmax(served @ expected.T, axis=1) == np.arange(len(batch))).all()


def test_base64_files_equal_client_preprocessed_tensors(
    pytorch_service: ServiceProcess,
    photo_bytes: dict[str, bytes],
    photo_tensors: dict[str, np.ndarray],
) -> None:
    names = list(photo_bytes)[:6]
    from_files = embed_base64(pytorch_service.url, [photo_bytes[n] for n in names])
    from_tensors = embed_tensors(pytorch_service.url, np.stack([photo_tensors[n] for n in names]))
    assert from_files.shape == (len(names), EMBED_DIM)
    np.testing.assert_allclose(np.linalg.norm(from_files, axis=1), 1.0, atol=1e-5)
    assert _cosines(from_files, from_tensors).min() > SAME


def test_base64_accepts_data_urls_and_wrapped_lines(
    pytorch_service: ServiceProcess, photo_bytes: dict[str, bytes]
) -> None:
    import base64

    import httpx

    data = next(iter(photo_bytes.values()))
    plain = base64.b64encode(data).decode()
    wrapped = base64.encodebytes(data).decode()  # MIME style, a newline every 76 characters
    images = [plain, f"data:image/jpeg;base64,{plain}", wrapped]
    url = f"{pytorch_service.url}/embed/base64"
    response = httpx.post(url, json={"images": images}, timeout=60)
    assert response.status_code == 200, response.text
    vectors = np.asarray(response.json()["embeddings"], dtype=np.float32)
    np.testing.assert_array_equal(vectors[0], vectors[1])
    np.testing.assert_array_equal(vectors[0], vectors[2])


def test_one_image_alone_equals_the_same_image_in_a_batch(
    pytorch_service: ServiceProcess, photo_tensors: dict[str, np.ndarray]
) -> None:
    batch = np.stack(list(photo_tensors.values())[:4])
    together = embed_tensors(pytorch_service.url, batch)
    alone = np.concatenate([embed_tensors(pytorch_service.url, batch[i : i + 1]) for i in range(4)])
    assert _cosines(together, alone).min() > SAME


def test_extreme_aspect_ratio_png_is_embedded_in_milliseconds(
    pytorch_service: ServiceProcess, tmp_path: Path
) -> None:
    """D8: a 1x10000 PNG once cost 9.4 s and 3.4 GB on /embed/base64 (shorter side up to 224)."""
    rng = np.random.default_rng(8)
    thin = tmp_path / "thin.png"
    Image.fromarray(rng.integers(0, 256, (10000, 1, 3), dtype=np.uint8), "RGB").save(thin)
    wide = tmp_path / "wide.png"
    Image.fromarray(rng.integers(0, 256, (1, 10000, 3), dtype=np.uint8), "RGB").save(wide)
    files = [thin.read_bytes(), wide.read_bytes()]
    started = time.perf_counter()
    served = embed_base64(pytorch_service.url, files)
    elapsed = time.perf_counter() - started
    assert served.shape == (2, EMBED_DIM)
    assert np.isfinite(served).all()
    np.testing.assert_allclose(np.linalg.norm(served, axis=1), 1.0, atol=1e-5)
    # One ViT-B-32 forward of two images is ~0.3 s here; the old resize alone took 9.4 s.
    assert elapsed < 3.0, f"{elapsed:.2f} s"
    # The client-side preprocessing (Triton's path) gives the same pixels, so the same vectors.
    tensors = np.stack([preprocess_source(path) for path in (thin, wide)])
    assert _cosines(served, embed_tensors(pytorch_service.url, tensors)).min() > SAME
