"""D12: ``/openapi.json`` of the real service declares the /embed request bodies and every
error answer, and the answers the service really gives match what it declares."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import numpy as np
import pytest

from fixtures.service import ServiceProcess
from photodup import contract
from photodup.serving import create_app
from photodup.settings import ServiceSettings

ERROR_REF = "#/components/schemas/ErrorBody"
JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict, "array": list, "string": str, "integer": int, "number": (int, float),
    "boolean": bool, "null": type(None),
}  # fmt: skip


@pytest.fixture(scope="module")
def schema(pytorch_service: ServiceProcess) -> dict[str, Any]:
    reply = httpx.get(f"{pytorch_service.url}/openapi.json", timeout=10)
    assert reply.status_code == 200
    return reply.json()


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        *_, name = node["$ref"].split("/")
        node = schema["components"]["schemas"][name]
    return node


def conforms(schema: dict[str, Any], node: dict[str, Any], value: Any, at: str = "$") -> None:
    """A small JSON Schema check: the subset FastAPI emits for these models."""
    node = _resolve(schema, node)
    if "anyOf" in node:
        errors = []
        for option in node["anyOf"]:
            try:
                return conforms(schema, option, value, at)
            except AssertionError as exc:
                errors.append(str(exc))
        raise AssertionError(f"{at}: matches no option: {errors}")
    kind = node.get("type")
    if kind is not None:
        assert isinstance(value, JSON_TYPES[kind]) and not (
            kind in ("integer", "number") and isinstance(value, bool)
        ), f"{at}: {value!r} is not {kind}"
    for name in node.get("required", []):
        assert name in value, f"{at}: {name} missing"
    for name, sub in node.get("properties", {}).items():
        if isinstance(value, dict) and name in value:
            conforms(schema, sub, value[name], f"{at}.{name}")
    if kind == "array":
        for i, item in enumerate(value):
            conforms(schema, node.get("items", {}), item, f"{at}[{i}]")


def test_embed_request_bodies_are_declared(schema: dict[str, Any]) -> None:
    b64 = schema["paths"]["/embed/base64"]["post"]["requestBody"]
    assert b64["required"] is True
    body = b64["content"]["application/json"]["schema"]
    assert body["required"] == ["images"]
    assert body["properties"]["images"]["items"]["type"] == "string"
    conforms(schema, body, {"images": ["aGVsbG8="]})
    with pytest.raises(AssertionError):
        conforms(schema, body, {"images": [1]})  # the check itself can fail
    tensors = schema["paths"]["/embed/tensors"]["post"]["requestBody"]
    assert tensors["content"]["application/octet-stream"]["schema"]["format"] == "binary"


@pytest.mark.parametrize(
    ("path", "statuses"),
    [
        ("/embed/base64", {408, 413, 422, 431, 500, 503}),
        ("/embed/tensors", {408, 413, 415, 422, 431, 500, 503}),
    ],
)
def test_error_answers_are_declared_with_the_error_body(
    schema: dict[str, Any], path: str, statuses: set[int]
) -> None:
    responses = schema["paths"][path]["post"]["responses"]
    declared = {int(code) for code in responses if code.startswith(("4", "5"))}
    assert declared == statuses
    for code in statuses:
        content = responses[str(code)]["content"]["application/json"]["schema"]
        assert content == {"$ref": ERROR_REF}, (path, code)
    detail = _resolve(schema, _resolve(schema, {"$ref": ERROR_REF})["properties"]["detail"])
    assert set(detail["required"]) == {"error", "kind", "items"}


def _bad_requests(url: str) -> list[tuple[str, httpx.Response]]:
    octet = {"content-type": "application/octet-stream"}
    text = {"content-type": "text/plain"}
    one = np.zeros((1, 3, 224, 224), "<f4").tobytes()
    tiny = base64.b64encode(b"not an image").decode()
    with httpx.Client(base_url=url, timeout=30) as client:
        return [
            ("/embed/tensors", client.post("/embed/tensors", content=one, headers=text)),
            ("/embed/tensors", client.post("/embed/tensors", content=one[:-4], headers=octet)),
            ("/embed/tensors", client.post("/embed/tensors", content=one * 33, headers=octet)),
            ("/embed/base64", client.post("/embed/base64", content=b"{not json")),
            ("/embed/base64", client.post("/embed/base64", json={"images": [tiny, 3]})),
            ("/embed/base64", client.post("/embed/base64", json={"images": [tiny] * 33})),
            ("/embed/base64", client.post("/embed/base64", json={"images": [tiny]})),
        ]  # fmt: skip


def test_real_error_answers_match_the_declared_schema(
    schema: dict[str, Any], pytorch_service: ServiceProcess
) -> None:
    seen = set()
    for path, reply in _bad_requests(pytorch_service.url):
        responses = schema["paths"][path]["post"]["responses"]
        assert str(reply.status_code) in responses, (path, reply.status_code, reply.text)
        declared = responses[str(reply.status_code)]["content"]["application/json"]["schema"]
        conforms(schema, declared, reply.json())
        seen.add(reply.status_code)
    assert seen == {413, 415, 422}


def test_the_declared_batch_limit_is_the_services_own(schema: dict[str, Any]) -> None:
    def images(s: dict[str, Any]) -> dict[str, Any]:
        body = s["paths"]["/embed/base64"]["post"]["requestBody"]["content"]
        return body["application/json"]["schema"]["properties"]["images"]

    assert images(schema)["minItems"] == 1
    assert images(schema)["maxItems"] == contract.MAX_BATCH_SIZE
    small = create_app(ServiceSettings(max_batch_size=8)).openapi()
    assert images(small)["maxItems"] == 8


def test_metrics_and_405_answer_as_declared(
    schema: dict[str, Any], pytorch_service: ServiceProcess
) -> None:
    metrics = httpx.get(f"{pytorch_service.url}/metrics", timeout=10)
    declared = schema["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert metrics.headers["content-type"].split(";")[0] in declared
    # RFC 9110: a 405 names the methods that are allowed (schemathesis checks it).
    reply = httpx.request("TRACE", f"{pytorch_service.url}/ready", timeout=10)
    assert reply.status_code == 405 and reply.headers["allow"] == "GET"
    assert reply.json()["detail"]["kind"] == "method_not_allowed"
