"""The model layer: turn request payloads into model input and model output into payloads.

Decoding goes through :mod:`photodup.imaging`, the same code the client uses, so an image sent
as a file (``/embed/base64``) and the same image preprocessed by the client and sent as a tensor
(``/embed/tensors``) reach the model as identical pixels. Nothing here knows about HTTP.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

import numpy as np

from photodup.contract import CHANNELS, EMBED_DIM, IMAGE_SIZE, MAX_ABS_INPUT
from photodup.imaging import ImageDecodeError, preprocess_source
from photodup.serving.errors import ItemProblem, RequestProblem, invalid, too_large

IMAGE_FLOATS = CHANNELS * IMAGE_SIZE * IMAGE_SIZE
#: Bytes of one preprocessed image in the binary tensor protocol (float32 [3, 224, 224]).
IMAGE_NBYTES = IMAGE_FLOATS * 4
#: Little-endian float32, the byte order of the binary protocol whatever the host.
WIRE_DTYPE = np.dtype("<f4")

_DATA_URL_MARK = ";base64,"


def check_count(count: int, max_batch_size: int) -> None:
    """Refuse empty requests and requests larger than one model batch."""
    if count == 0:
        raise invalid(f"no images: send between 1 and {max_batch_size} images", "empty_batch")
    if count > max_batch_size:
        raise too_large(
            f"{count} images in one request; the limit is MAX_BATCH_SIZE={max_batch_size}. "
            "Split the request.",
            "too_many_images",
            limit=max_batch_size,
        )


def _b64decode(text: str, max_image_bytes: int) -> bytes:
    if text.startswith("data:") and _DATA_URL_MARK in text[:100]:
        text = text.split(_DATA_URL_MARK, 1)[1]
    # Checked on the encoded length so an oversized image is refused before it is decoded.
    if len(text) // 4 * 3 > max_image_bytes + 3:
        raise _ItemError(
            f"image is about {len(text) // 4 * 3} bytes; the limit is "
            f"MAX_IMAGE_BYTES={max_image_bytes}",
            "too_large",
        )
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        # MIME encoders wrap lines; accept that, but nothing else outside the alphabet.
        try:
            raw = base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _ItemError(f"not valid base64 ({exc})", "bad_base64") from exc
    if len(raw) > max_image_bytes:
        raise _ItemError(
            f"image is {len(raw)} bytes; the limit is MAX_IMAGE_BYTES={max_image_bytes}",
            "too_large",
        )
    return raw


class _ItemError(ValueError):
    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


def decode_base64_images(images: Sequence[str], *, max_image_bytes: int) -> np.ndarray:
    """Decode and preprocess every image; float32 [N, 3, 224, 224].

    One bad image fails the request, and the problem lists every bad index with its reason,
    so the caller can fix or drop exactly those files. Oversized images make it a
    ``too_large`` problem (413), anything else ``invalid`` (422).
    """
    tensors: list[np.ndarray] = []
    problems: list[ItemProblem] = []
    for index, text in enumerate(images):
        try:
            raw = _b64decode(text, max_image_bytes)
            tensors.append(preprocess_source(raw, name=f"images[{index}]"))
        except (_ItemError, ImageDecodeError) as exc:
            problems.append(ItemProblem(index=index, error=exc.reason, kind=exc.kind))
    if problems:
        listed = ", ".join(str(p.index) for p in problems)
        oversized = any(p.kind == "too_large" for p in problems)
        raise RequestProblem(
            f"{len(problems)} of {len(images)} images cannot be used (index {listed}); "
            "nothing was embedded. Fix or drop those images and send the request again.",
            "bad_images",
            "too_large" if oversized else "invalid",
            problems,
        )
    return np.stack(tensors)


def tensors_from_bytes(body: bytes, *, max_batch_size: int) -> np.ndarray:
    """Parse the binary protocol: little-endian float32 C-order [N, 3, 224, 224], N inferred."""
    if not body:
        raise invalid(
            f"empty body: send N x {IMAGE_NBYTES} bytes of float32 [N, 3, {IMAGE_SIZE}, "
            f"{IMAGE_SIZE}]",
            "empty_batch",
        )
    if len(body) % IMAGE_NBYTES:
        raise invalid(
            f"body is {len(body)} bytes, not a whole number of images: one image is "
            f"{IMAGE_NBYTES} bytes (float32 [3, {IMAGE_SIZE}, {IMAGE_SIZE}], little-endian)",
            "bad_tensor_length",
        )
    count = len(body) // IMAGE_NBYTES
    check_count(count, max_batch_size)
    batch = np.frombuffer(body, dtype=WIRE_DTYPE).reshape(count, CHANNELS, IMAGE_SIZE, IMAGE_SIZE)
    finite = np.isfinite(batch).reshape(count, -1).all(axis=1)
    if not finite.all():
        bad = [int(i) for i in np.flatnonzero(~finite)]
        raise invalid(
            f"images {bad} contain NaN or infinity; preprocess them with photodup.imaging",
            "non_finite",
            [
                ItemProblem(index=i, error="contains NaN or infinity", kind="non_finite")
                for i in bad
            ],
        )
    peaks = np.abs(batch).reshape(count, -1).max(axis=1)
    if (peaks > MAX_ABS_INPUT).any():
        bad = [int(i) for i in np.flatnonzero(peaks > MAX_ABS_INPUT)]
        raise invalid(
            f"images {bad} hold values beyond +-{MAX_ABS_INPUT:g}; CLIP-normalised pixels lie "
            "within about [-1.8, 2.2]: preprocess them with photodup.imaging",
            "out_of_range",
            [
                ItemProblem(
                    index=i,
                    error=f"largest magnitude {float(peaks[i]):.3g} exceeds {MAX_ABS_INPUT:g}",
                    kind="out_of_range",
                )
                for i in bad
            ],
        )
    return batch.astype(np.float32, copy=False)


def check_embeddings(embeddings: np.ndarray, batch: np.ndarray) -> np.ndarray:
    """Refuse to return a non-finite embedding: name each image whose output is NaN or inf.

    Inputs are already bounded (:func:`tensors_from_bytes`), so this is the backstop for an
    engine that fails to produce finite numbers: refused, never stored downstream as data.
    """
    finite = np.isfinite(embeddings).reshape(embeddings.shape[0], -1).all(axis=1)
    if finite.all():
        return embeddings
    bad = [int(i) for i in np.flatnonzero(~finite)]
    items = []
    for i in bad:
        peak = float(np.abs(batch[i]).max()) if i < batch.shape[0] else float("nan")
        items.append(
            ItemProblem(
                index=i,
                error=f"the model's output is NaN or infinite (largest input magnitude {peak:.3g};"
                " CLIP-normalised pixels lie within about [-1.8, 2.2])",
                kind="non_finite_output",
            )
        )
    raise invalid(
        f"images {bad} give a non-finite embedding; nothing was returned. Send pixels "
        "preprocessed with photodup.imaging (values within about [-1.8, 2.2])",
        "non_finite_output",
        items,
    )


def embeddings_to_bytes(embeddings: np.ndarray) -> bytes:
    """The binary response: little-endian float32 C-order [N, 512]."""
    if embeddings.ndim != 2 or embeddings.shape[1] != EMBED_DIM:
        raise ValueError(f"model returned shape {embeddings.shape}, expected [N, {EMBED_DIM}]")
    return np.ascontiguousarray(embeddings, dtype=WIRE_DTYPE).tobytes()
