"""Adapter for the PyTorch service: raw float32 tensors or base64 files over HTTP (httpx)."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np

from photodup import contract
from photodup.client.errors import InferenceError, RetryableError, ShapeMismatchError

OCTET_STREAM = "application/octet-stream"
#: 429 (queue full) and 503 (loading, overloaded) clear up on their own; retry them.
_RETRY_STATUS = (429, 503)


def _detail(response: httpx.Response) -> str:
    """The service's ``{"detail": {"error", "items"}}`` body as one readable line."""
    try:
        detail = response.json().get("detail")
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(detail, dict):
        message = str(detail.get("error", detail))
        items = detail.get("items") or []
        if items:
            listed = "; ".join(f"image {item.get('index')}: {item.get('error')}" for item in items)
            message = f"{message} ({listed})"
        return message
    return str(detail)


class PyTorchAdapter:
    backend = "pytorch"
    protocol = "http"

    def __init__(self, url: str, *, timeout_s: float) -> None:
        self.url = url.rstrip("/")
        # httpx.Client is safe to share between threads; one pool serves every caller.
        self._http = httpx.Client(
            base_url=self.url,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )
        self._max_batch: int | None = None

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
            raise RetryableError(f"{type(exc).__name__}: {exc}") from exc
        except httpx.TimeoutException as exc:
            raise InferenceError(
                f"pytorch backend at {self.url} gave no answer to {path} in time ({exc}); "
                "raise INFERENCE_TIMEOUT_S or send smaller batches (INFERENCE_BATCH_SIZE)"
            ) from exc
        except httpx.HTTPError as exc:
            raise RetryableError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code in _RETRY_STATUS:
            raise RetryableError(f"HTTP {response.status_code} from {path}: {_detail(response)}")
        if response.status_code >= 400:
            raise InferenceError(
                f"pytorch backend at {self.url} refused {path} with HTTP "
                f"{response.status_code}: {_detail(response)}"
            )
        return response

    def ready(self) -> bool:
        try:
            return self._http.get("/ready", timeout=5.0).status_code == 200
        except httpx.HTTPError:
            return False

    def probe(self) -> bool:
        return self.ready()

    def info(self) -> dict[str, Any]:
        data = self._send("GET", "/info").json()
        return data if isinstance(data, dict) else {"info": data}

    def max_batch_size(self) -> int:
        if self._max_batch is None:
            self._max_batch = int(self.info().get("max_batch_size", contract.MAX_BATCH_SIZE))
        return self._max_batch

    def embed_tensors(self, batch: np.ndarray) -> np.ndarray:
        body = np.ascontiguousarray(batch, dtype="<f4").tobytes()
        response = self._send(
            "POST", "/embed/tensors", content=body, headers={"content-type": OCTET_STREAM}
        )
        expected = batch.shape[0] * contract.EMBED_DIM * 4
        if len(response.content) != expected:
            raise ShapeMismatchError(
                f"pytorch backend at {self.url} returned {len(response.content)} bytes for "
                f"{batch.shape[0]} images, expected {expected} ([N, {contract.EMBED_DIM}] float32);"
                " is the service running the same model (ViT-B-32, 512-d)?"
            )
        return np.frombuffer(response.content, dtype="<f4").reshape(-1, contract.EMBED_DIM)

    def embed_base64(self, images: list[str]) -> np.ndarray:
        response = self._send("POST", "/embed/base64", json={"images": images})
        array = np.asarray(response.json().get("embeddings", []), dtype=np.float32)
        if array.shape != (len(images), contract.EMBED_DIM):
            raise ShapeMismatchError(
                f"pytorch backend at {self.url} returned embeddings of shape {array.shape} for "
                f"{len(images)} images, expected ({len(images)}, {contract.EMBED_DIM})"
            )
        return array

    def close(self) -> None:
        self._http.close()
