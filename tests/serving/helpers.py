"""Talking to the service over raw httpx, as any HTTP client would."""

from __future__ import annotations

import base64
from collections.abc import Sequence

import httpx
import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from photodup.contract import EMBED_DIM
from photodup.model.openclip import ImageEmbedder

OCTET = {"content-type": "application/octet-stream"}
TIMEOUT = httpx.Timeout(120.0)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def post_tensors(url: str, batch: np.ndarray) -> httpx.Response:
    body = np.ascontiguousarray(batch, dtype="<f4").tobytes()
    return httpx.post(f"{url}/embed/tensors", content=body, headers=OCTET, timeout=TIMEOUT)


def embed_tensors(url: str, batch: np.ndarray) -> np.ndarray:
    response = post_tensors(url, batch)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    return np.frombuffer(response.content, dtype="<f4").reshape(-1, EMBED_DIM)


def embed_base64(url: str, files: Sequence[bytes]) -> np.ndarray:
    response = httpx.post(
        f"{url}/embed/base64", json={"images": [b64(f) for f in files]}, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    return np.asarray(response.json()["embeddings"], dtype=np.float32)


def metric_samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics keyed by (name, sorted labels)."""
    text = httpx.get(f"{url}/metrics", timeout=TIMEOUT).text
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def metric(url: str, name: str, **labels: str) -> float:
    return metric_samples(url).get((name, tuple(sorted(labels.items()))), 0.0)


def batch_size_counts(url: str) -> tuple[float, float]:
    """(model executions so far, executions of exactly one image)."""
    samples = metric_samples(url)
    return (
        samples[("photodup_batch_size_count", ())],
        samples[("photodup_batch_size_bucket", (("le", "1.0"),))],
    )


def assert_error(response: httpx.Response, status: int, kind: str) -> dict:
    """The response has ``status`` and the documented error body; returns its detail."""
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert detail["kind"] == kind, detail
    assert isinstance(detail["error"], str) and detail["error"]
    assert isinstance(detail["items"], list)
    return detail


def reference_embeddings(embedder: ImageEmbedder, batch: np.ndarray) -> np.ndarray:
    """What the model gives in this process for ``batch``, without any service in between."""
    import torch

    with torch.inference_mode():
        return embedder(torch.from_numpy(np.ascontiguousarray(batch))).numpy()
