"""The transport layer: HTTP handlers. They read bodies, call the model layer and the engine,
and never touch torch; the resources come from the app state through typed dependencies."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.concurrency import run_in_threadpool

from photodup.serving.embedding import (
    IMAGE_NBYTES,
    check_count,
    decode_base64_images,
    embeddings_to_bytes,
    tensors_from_bytes,
)
from photodup.serving.engine import EmbeddingEngine
from photodup.serving.errors import ItemProblem, RequestProblem, invalid, too_large
from photodup.serving.metrics import CONTENT_TYPE, ServiceMetrics
from photodup.serving.openapi import (
    BASE64_BODY,
    BASE64_RESPONSES,
    METRICS_RESPONSES,
    OCTET_STREAM,
    READY_RESPONSES,
    TENSOR_BODY,
    TENSOR_RESPONSES,
)
from photodup.settings import ServiceSettings

#: Room for the JSON around the base64 strings of a full batch.
_JSON_OVERHEAD = 64 * 1024


def get_engine(request: Request) -> EmbeddingEngine:
    engine: EmbeddingEngine = request.app.state.engine
    return engine


def get_metrics(request: Request) -> ServiceMetrics:
    metrics: ServiceMetrics = request.app.state.metrics
    return metrics


def get_settings(request: Request) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.settings
    return settings


EngineDep = Annotated[EmbeddingEngine, Depends(get_engine)]
MetricsDep = Annotated[ServiceMetrics, Depends(get_metrics)]
SettingsDep = Annotated[ServiceSettings, Depends(get_settings)]


class EmbedBase64Request(BaseModel):
    """The seed API: image files (JPEG, PNG, HEIC, ...) as base64 strings."""

    model_config = ConfigDict(strict=True)
    images: list[str]


class EmbedBase64Response(BaseModel):
    embeddings: list[list[float]]


router = APIRouter()


async def read_body(request: Request, limit: int, what: str) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(
            f"{what} of {declared} bytes exceeds the limit of {limit}",
            "body_too_large",
            limit=limit,
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large(
                f"{what} exceeds the limit of {limit} bytes", "body_too_large", limit=limit
            )
    return bytes(body)


def _parse_base64_request(raw: bytes) -> EmbedBase64Request:
    try:
        return EmbedBase64Request.model_validate_json(raw)
    except ValidationError as exc:
        items = [
            ItemProblem(
                index=int(err["loc"][1]), error="must be a base64 string", kind="not_a_string"
            )
            for err in exc.errors()
            if len(err["loc"]) == 2 and err["loc"][0] == "images" and isinstance(err["loc"][1], int)
        ]
        if items:
            message = f"images {[i.index for i in items]} are not strings"
        elif any(err["type"] == "json_invalid" for err in exc.errors()):
            message = "the body is not valid JSON"
        else:
            message = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
                for err in exc.errors()
            )
        raise invalid(
            f'expected JSON {{"images": ["<base64 image file>", ...]}}: {message}',
            "bad_request_body",
            items,
        ) from exc


@router.get("/health")
async def health() -> dict[str, str]:
    """Alive (the process answers); says nothing about the model."""
    return {"status": "ok"}


@router.get("/ready", responses=READY_RESPONSES)
async def ready(engine: EngineDep) -> JSONResponse:
    """200 once the model is loaded and warmed up, else 503 with the reason."""
    code = 200 if engine.status == "ready" else 503
    return JSONResponse({"status": engine.status, "error": engine.error}, status_code=code)


@router.get("/info")
async def info(engine: EngineDep) -> dict[str, Any]:
    return engine.info()


@router.get("/metrics", response_class=Response, responses=METRICS_RESPONSES)
async def metrics(m: MetricsDep) -> Response:
    return Response(m.render(), media_type=CONTENT_TYPE)


@router.post(
    "/embed/base64",
    response_model=EmbedBase64Response,
    responses=BASE64_RESPONSES,
    openapi_extra=BASE64_BODY,
)
async def embed_base64(
    request: Request, engine: EngineDep, settings: SettingsDep, m: MetricsDep
) -> Response:
    """``{"images": [base64 files]}`` -> ``{"embeddings": [[512 floats], ...]}`` in order."""
    per_image = settings.max_image_bytes * 4 // 3 + 4
    limit = settings.max_batch_size * per_image + _JSON_OVERHEAD
    raw = await read_body(request, limit, "request body")
    payload = await run_in_threadpool(_parse_base64_request, raw)
    check_count(len(payload.images), settings.max_batch_size)
    started = time.perf_counter()
    # Decoding is CPU work; a thread keeps the event loop answering /health meanwhile.
    batch = await run_in_threadpool(
        decode_base64_images, payload.images, max_image_bytes=settings.max_image_bytes
    )
    m.preprocess_seconds.observe(time.perf_counter() - started)
    embeddings = await engine.embed(batch)
    # float32 -> Python float is exact, so the JSON numbers round-trip to the same float32.
    body = json.dumps({"embeddings": embeddings.tolist()}, separators=(",", ":"))
    return Response(body, media_type="application/json")


@router.post(
    "/embed/tensors",
    response_class=Response,
    responses=TENSOR_RESPONSES,
    openapi_extra=TENSOR_BODY,
)
async def embed_tensors(request: Request, engine: EngineDep, settings: SettingsDep) -> Response:
    """Raw little-endian float32 [N, 3, 224, 224] in, raw float32 [N, 512] out."""
    content_type = request.headers.get("content-type", OCTET_STREAM).split(";")[0].strip()
    if content_type != OCTET_STREAM:
        raise RequestProblem(
            f"content-type {content_type!r} is not supported: send {OCTET_STREAM}",
            "unsupported_media_type",
            "unsupported_media",
        )
    limit = settings.max_batch_size * IMAGE_NBYTES
    body = await read_body(
        request, limit, f"tensor body (MAX_BATCH_SIZE={settings.max_batch_size})"
    )
    batch = await run_in_threadpool(
        tensors_from_bytes, body, max_batch_size=settings.max_batch_size
    )
    embeddings = await engine.embed(batch)
    return Response(embeddings_to_bytes(embeddings), media_type=OCTET_STREAM)
