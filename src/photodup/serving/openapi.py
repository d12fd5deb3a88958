"""What ``/openapi.json`` declares beyond what FastAPI infers: request bodies and errors.

The /embed handlers read their bodies themselves (to stop at the size limit while reading),
so FastAPI cannot see them; these declarations let schema-driven clients and fuzzers
(schemathesis) build valid requests and check every answer against a documented shape.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from photodup import contract

OCTET_STREAM = "application/octet-stream"


class ErrorItem(BaseModel):
    """One bad image of a batch."""

    index: int = Field(description="Position of the image in the request, from 0.")
    error: str = Field(description="What is wrong with it, for a person.")
    kind: str = Field(description="Machine-readable reason, e.g. not_an_image, truncated.")


class ErrorDetail(BaseModel):
    # Some kinds add the fact behind them, e.g. ``limit`` (bytes) for body_too_large.
    model_config = ConfigDict(extra="allow")

    error: str = Field(description="What is wrong and what to send instead.")
    kind: str = Field(description="Machine-readable kind, e.g. queue_full, body_too_large.")
    items: list[ErrorItem] = Field(description="Every bad image, when images are at fault.")


class ErrorBody(BaseModel):
    """The body of every 4xx and 5xx answer of the service."""

    detail: ErrorDetail


class ReadyBody(BaseModel):
    status: str = Field(description="loading, ready or failed.")
    error: str | None = Field(description="Why it is not ready, when it failed.")


def _errors(statuses: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorBody, "description": text} for code, text in statuses.items()}


_COMMON = {
    408: "The request did not arrive within PHOTODUP_HTTP_*_TIMEOUT_S (connection closed).",
    431: "Request line and headers over PHOTODUP_HTTP_MAX_HEADER_BYTES (connection closed).",
    500: "A bug: the body is generic and the service log has the trace.",
    503: "Model not loaded yet (not_ready) or queue full (queue_full); see Retry-After.",
}

BASE64_RESPONSES = _errors({
    413: "Body or one image over MAX_IMAGE_BYTES, or more images than MAX_BATCH_SIZE.",
    422: "Not the JSON shape, not base64, or images that do not decode (items lists each).",
    **_COMMON,
})  # fmt: skip
TENSOR_RESPONSES = _errors({
    413: "More than MAX_BATCH_SIZE tensors.",
    415: f"Content-Type other than {OCTET_STREAM}.",
    422: "A length that is not a whole number of tensors, or non-finite values.",
    **_COMMON,
})  # fmt: skip
TENSOR_RESPONSES[200] = {
    "content": {OCTET_STREAM: {"schema": {"type": "string", "format": "binary"}}},
    "description": f"Little-endian float32 [N, {contract.EMBED_DIM}], L2-normalised, in order.",
}
METRICS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/plain": {"schema": {"type": "string"}}},
        "description": "Prometheus text exposition format 0.0.4.",
    }
}
READY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": ReadyBody, "description": "Loaded and warmed up."},
    503: {"model": ReadyBody, "description": "Still loading, or failed to load (error says why)."},
}

BASE64_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": f"Image files (JPEG, PNG, HEIC, ...) as base64 strings, at most "
        f"MAX_BATCH_SIZE (default {contract.MAX_BATCH_SIZE}) per request.",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["images"],
                    "additionalProperties": False,
                    "properties": {
                        "images": {
                            "type": "array",
                            "minItems": 1,
                            # The served schema says the app's own MAX_BATCH_SIZE.
                            "maxItems": contract.MAX_BATCH_SIZE,
                            "items": {
                                "type": "string",
                                "contentEncoding": "base64",
                                "contentMediaType": "image/*",
                            },
                        }
                    },
                }
            }
        },
    }
}
TENSOR_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": f"Preprocessed images: little-endian float32 [N, 3, {contract.IMAGE_SIZE}, "
        f"{contract.IMAGE_SIZE}], N from 1 to MAX_BATCH_SIZE, all values finite.",
        "content": {OCTET_STREAM: {"schema": {"type": "string", "format": "binary"}}},
    }
}


def with_limits(schema: dict[str, Any], max_batch_size: int) -> dict[str, Any]:
    """``schema`` (FastAPI's) with this service's MAX_BATCH_SIZE as the /embed/base64 limit."""
    body = schema["paths"]["/embed/base64"]["post"]["requestBody"]
    images = body["content"]["application/json"]["schema"]["properties"]["images"]
    images["maxItems"] = max_batch_size
    return schema
