"""The one inference client: same calls whichever backend (PyTorch service or Triton) serves.

Preprocessing always happens here with :mod:`photodup.imaging` (except ``embed_base64_images``
on the PyTorch service, which decodes server-side), so every backend sees identical pixels.
"""

from __future__ import annotations

import base64
import binascii
import functools
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, TypeVar

import numpy as np
from pydantic import ValidationError

from photodup import contract
from photodup.client.errors import (
    BackendUnavailableError,
    EmbedResult,
    ImageError,
    InferenceError,
    NonFiniteError,
)
from photodup.client.pytorch_backend import PyTorchAdapter
from photodup.client.retry import call_with_retries
from photodup.client.triton_backend import TritonAdapter
from photodup.imaging import ImageDecodeError, PhotoSource, load_photo
from photodup.imaging.preprocess import normalise, preprocess_uint8
from photodup.settings import ClientSettings

T = TypeVar("T")
BACKENDS = ("pytorch", "triton")
PROTOCOLS = ("http", "grpc")
DEFAULT_URLS = {
    ("pytorch", "http"): "http://localhost:8002",
    ("triton", "http"): "http://localhost:8003",
    ("triton", "grpc"): "localhost:8004",
}
_HOW_TO_START = {
    "pytorch": "start it with `make serve-pytorch` (photodup serve)",
    "triton": "start it with `make serve-triton` (photodup triton) after `make export`",
}


def _non_finite_rows(array: np.ndarray) -> list[int]:
    finite = np.isfinite(array).reshape(array.shape[0], -1).all(axis=1)
    return [int(i) for i in np.flatnonzero(~finite)]


def _load_settings() -> ClientSettings:
    try:
        return ClientSettings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise InferenceError(
            f"invalid inference client settings ({problems}); INFERENCE_BACKEND must be one of "
            f"{', '.join(BACKENDS)} and INFERENCE_PROTOCOL one of {', '.join(PROTOCOLS)}"
        ) from exc


class InferenceClient:
    """Embeds images through the backend chosen by ``INFERENCE_BACKEND``; thread-safe."""

    def __init__(
        self,
        base_url: str | None = None,
        backend: str | None = None,
        *,
        protocol: str | None = None,
        settings: ClientSettings | None = None,
    ) -> None:
        self.settings = settings or _load_settings()
        chosen = (backend or self.settings.backend).lower()
        if chosen not in BACKENDS:
            raise InferenceError(
                f"unknown inference backend {chosen!r}; choose one of: {', '.join(BACKENDS)} "
                "(INFERENCE_BACKEND or --backend)"
            )
        proto = (protocol or ("http" if chosen == "pytorch" else self.settings.protocol)).lower()
        if proto not in PROTOCOLS:
            raise InferenceError(
                f"unknown protocol {proto!r}; choose one of: {', '.join(PROTOCOLS)}"
            )
        if chosen == "pytorch" and proto != "http":
            raise InferenceError(
                "the PyTorch service speaks HTTP only; use INFERENCE_PROTOCOL=http"
            )
        url = base_url or self.settings.url or DEFAULT_URLS[(chosen, proto)]
        self._adapter: PyTorchAdapter | TritonAdapter
        if chosen == "pytorch":
            self._adapter = PyTorchAdapter(url, timeout_s=self.settings.timeout_s)
        else:
            self._adapter = TritonAdapter(
                url,
                protocol=proto,
                model_name=self.settings.triton_model_name,
                timeout_s=self.settings.timeout_s,
                use_uint8=self.settings.triton_uint8,
            )
        self.backend: str = chosen
        self.protocol: str = proto
        self.url: str = self._adapter.url

    def __repr__(self) -> str:
        return f"InferenceClient({self.backend!r}, {self.url!r}, protocol={self.protocol!r})"

    def _retry(self, call: Callable[[], T]) -> T:
        attempts = self.settings.retries + 1

        def describe(reason: str) -> str:
            return (
                f"{self.backend} backend at {self.url} ({self.protocol}) is unavailable after "
                f"{attempts} attempt(s): {reason}. Is it running and ready? "
                f"{_HOW_TO_START[self.backend]}, or point INFERENCE_SERVICE_URL / "
                "INFERENCE_BACKEND at a running one."
            )

        return call_with_retries(call, retries=self.settings.retries, describe=describe)

    def _check_input(self, batch: np.ndarray) -> None:
        """Refuse NaN, infinity and magnitudes no preprocessed image has, before sending."""
        rows = batch.reshape(batch.shape[0], -1)
        # max/min propagate NaN, so two allocation-free passes find every bad row.
        peaks = np.maximum(rows.max(axis=1), -rows.min(axis=1))
        bad_rows = np.flatnonzero(~(peaks <= contract.MAX_ABS_INPUT))
        if not bad_rows.size:
            return
        where = f"nothing was sent to the {self.backend} backend at {self.url} ({self.protocol})"
        bad = _non_finite_rows(batch[bad_rows])
        if bad:
            bad = [int(bad_rows[i]) for i in bad]
            raise NonFiniteError(
                f"images {bad} contain NaN or infinity; {where}. Preprocess with photodup.imaging",
                bad,
            )
        bad = [int(i) for i in bad_rows]
        raise NonFiniteError(
            f"images {bad} hold values beyond +-{contract.MAX_ABS_INPUT:g} (largest "
            f"{float(peaks[bad_rows].max()):.3g}), which overflow inside the model; CLIP-normalised"
            f" pixels lie within about [-1.8, 2.2]; {where}. Preprocess with photodup.imaging",
            bad,
        )

    # --- readiness and facts -----------------------------------------------------------

    def ready(self) -> bool:
        """True when the backend answers and its model is loaded (no retries)."""
        return self._adapter.ready()

    def wait_until_ready(self, timeout_s: float) -> None:
        """Poll until the backend is ready; BackendUnavailableError after ``timeout_s``.

        A failure that waiting cannot cure (Triton's HTTP client pointed at its gRPC port, a
        host name that does not resolve) raises InferenceError at once instead.
        """
        deadline = time.monotonic() + timeout_s
        while not self._adapter.probe():
            if time.monotonic() >= deadline:
                raise BackendUnavailableError(
                    f"{self.backend} backend at {self.url} ({self.protocol}) not ready after "
                    f"{timeout_s:.0f} s; {_HOW_TO_START[self.backend]}, or check its log"
                )
            time.sleep(0.25)

    def server_info(self) -> dict[str, Any]:
        info = dict(self._retry(self._adapter.info))
        info.update({"backend": self.backend, "url": self.url, "protocol": self.protocol})
        return info

    def max_batch_size(self) -> int:
        """Images per request: the model's limit (and INFERENCE_BATCH_SIZE for PyTorch)."""
        limit = self._retry(self._adapter.max_batch_size)
        if self.backend == "pytorch":
            limit = min(limit, self.settings.batch_size)
        return max(1, limit)

    # --- embedding ---------------------------------------------------------------------

    def embed_tensors(self, batch: np.ndarray) -> np.ndarray:
        """float32 [N, 3, 224, 224] -> L2-normalised float32 [N, 512], split to the max batch."""
        batch = np.asarray(batch)
        if batch.ndim != 4 or tuple(batch.shape[1:]) != contract.INPUT_SHAPE:
            raise InferenceError(
                f"embed_tensors expects a float32 array of shape [N, "
                f"{', '.join(map(str, contract.INPUT_SHAPE))}], got {list(batch.shape)}; "
                "use photodup.imaging.preprocess to build it"
            )
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if batch.shape[0] == 0:
            return np.zeros((0, contract.EMBED_DIM), dtype=np.float32)
        self._check_input(batch)
        step = self.max_batch_size()
        embed = self._adapter.embed_tensors
        parts = [
            self._retry(functools.partial(embed, batch[i : i + step]))
            for i in range(0, batch.shape[0], step)
        ]
        return self._check_output(np.concatenate(parts, axis=0))

    def _check_output(self, embeddings: np.ndarray) -> np.ndarray:
        bad = _non_finite_rows(embeddings)
        if bad:
            raise NonFiniteError(
                f"the {self.backend} backend at {self.url} ({self.protocol}) returned NaN or "
                f"infinite embeddings for images {bad}; nothing is returned. The model or its "
                "export is broken: re-export it (`photodup export --force`)",
                bad,
            )
        return embeddings

    def uses_uint8(self) -> bool:
        """Whether pixels travel as uint8 (Triton offers ``openclip_vit_b32_uint8``)."""
        adapter = self._adapter
        return isinstance(adapter, TritonAdapter) and self._retry(adapter.uint8_available)

    def embed_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 [N, 3, 224, 224] cropped pixels (``preprocess_uint8``) -> [N, 512].

        Sent as uint8 to Triton's uint8 model when it is served (a quarter of the bytes, the
        normalisation in its graph); otherwise normalised here and sent as float32. Both give
        the same vectors: the graph repeats :func:`photodup.imaging.normalise` exactly.
        """
        pixels = np.asarray(pixels)
        if pixels.ndim != 4 or tuple(pixels.shape[1:]) != contract.INPUT_SHAPE:
            raise InferenceError(
                f"embed_pixels expects a uint8 array of shape [N, "
                f"{', '.join(map(str, contract.INPUT_SHAPE))}], got {list(pixels.shape)}; "
                "use photodup.imaging.preprocess_uint8 to build it"
            )
        if pixels.dtype != np.uint8:
            raise InferenceError(f"embed_pixels expects uint8 pixels, got {pixels.dtype}")
        if pixels.shape[0] == 0:
            return np.zeros((0, contract.EMBED_DIM), dtype=np.float32)
        if not self.uses_uint8():
            return self.embed_tensors(normalise(pixels))
        adapter = self._adapter
        assert isinstance(adapter, TritonAdapter)
        pixels = np.ascontiguousarray(pixels)
        step = self.max_batch_size()
        parts = [
            self._retry(functools.partial(adapter.embed_pixels, pixels[i : i + step]))
            for i in range(0, pixels.shape[0], step)
        ]
        return self._check_output(np.concatenate(parts, axis=0))

    def embed_images(
        self, images: Sequence[PhotoSource], names: Sequence[str] | None = None
    ) -> EmbedResult:
        """Decode and preprocess here; bad images are reported by name, the rest embedded."""
        if names is not None and len(names) != len(images):
            raise ValueError(f"got {len(names)} names for {len(images)} images")
        tensors: list[np.ndarray] = []
        ok: list[int] = []
        errors: list[ImageError] = []
        for index, source in enumerate(images):
            name = names[index] if names is not None else None
            try:
                tensors.append(preprocess_uint8(load_photo(source, name=name)))
                ok.append(index)
            except ImageDecodeError as exc:
                errors.append(ImageError(index, exc.name, exc.reason, exc.kind))
        if tensors:
            embeddings = self.embed_pixels(np.stack(tensors))
        else:
            embeddings = np.zeros((0, contract.EMBED_DIM), dtype=np.float32)
        return EmbedResult(embeddings, ok, errors)

    def embed_base64_images(self, images: list[str]) -> list[list[float]]:
        """Base64-encoded image files -> one embedding per image (the seed's signature).

        Any bad image fails the call with an error naming its index; use :meth:`embed_images`
        to embed the good ones and get the bad ones reported instead.
        """
        if not images:
            return []
        if self.backend == "pytorch":
            step = self.max_batch_size()
            adapter = self._adapter
            assert isinstance(adapter, PyTorchAdapter)
            parts = [
                self._retry(functools.partial(adapter.embed_base64, images[i : i + step]))
                for i in range(0, len(images), step)
            ]
            return np.concatenate(parts, axis=0).tolist()
        tensors, problems = [], []
        for index, text in enumerate(images):
            try:
                data = base64.b64decode(text, validate=True)
                tensors.append(preprocess_uint8(load_photo(data, name=f"image {index}")))
            except (binascii.Error, ValueError) as exc:
                reason = exc.reason if isinstance(exc, ImageDecodeError) else f"bad base64 ({exc})"
                problems.append(f"image {index}: {reason}")
        if problems:
            raise InferenceError(
                f"{len(problems)} of {len(images)} images unusable: " + "; ".join(problems)
            )
        return self.embed_pixels(np.stack(tensors)).tolist()

    def embed_pil(self, images: Sequence[Any]) -> np.ndarray:
        """Already-decoded RGB PIL images -> [N, 512] (no decode errors possible)."""
        if not images:
            return np.zeros((0, contract.EMBED_DIM), dtype=np.float32)
        return self.embed_pixels(np.stack([preprocess_uint8(img) for img in images]))

    # --- lifetime ----------------------------------------------------------------------

    def close(self) -> None:
        self._adapter.close()

    def __enter__(self) -> InferenceClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
