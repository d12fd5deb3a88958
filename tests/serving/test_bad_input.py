"""Every kind of bad request gets a 4xx whose body names the problem and each bad index;
nothing is a 500, and the service goes on serving."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest
from PIL import Image

from fixtures.service import ServiceProcess
from photodup.contract import MAX_BATCH_SIZE
from photodup.serving.embedding import IMAGE_NBYTES
from serving.helpers import OCTET, assert_error, b64, embed_tensors, metric, post_tensors


def _post_json(url: str, payload: object) -> httpx.Response:
    return httpx.post(f"{url}/embed/base64", json=payload, timeout=60)


def test_bad_images_fail_the_request_and_name_every_bad_index(
    pytorch_service: ServiceProcess, photo_bytes: dict[str, bytes]
) -> None:
    good = next(iter(photo_bytes.values()))
    images = [
        b64(good),
        "not base64 at all!",
        b64(b"plain text, not a picture"),
        b64(good[: len(good) // 2]),  # a JPEG cut off half way, as an interrupted copy leaves it
        b64(good),
        "",
    ]
    detail = assert_error(_post_json(pytorch_service.url, {"images": images}), 422, "bad_images")
    kinds = {item["index"]: item["kind"] for item in detail["items"]}
    assert kinds == {1: "bad_base64", 2: "not_an_image", 3: "truncated", 5: "empty"}
    assert all(item["error"] for item in detail["items"])
    assert "index 1, 2, 3, 5" in detail["error"]


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"images": []}, "no images"),
        ({"imgs": ["x"]}, "images"),
        ({"images": "abc"}, "images"),
        ([1, 2, 3], "images"),
        (None, "images"),
    ],
)
def test_wrong_json_shapes_are_422(
    pytorch_service: ServiceProcess, payload: object, fragment: str
) -> None:
    response = _post_json(pytorch_service.url, payload)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail["kind"] in {"bad_request_body", "empty_batch"}
    assert fragment in detail["error"]


def test_non_string_images_are_named_by_index(pytorch_service: ServiceProcess) -> None:
    response = _post_json(pytorch_service.url, {"images": ["aGk=", 7, None]})
    detail = assert_error(response, 422, "bad_request_body")
    assert [item["index"] for item in detail["items"]] == [1, 2]


def test_body_that_is_not_json_is_422(pytorch_service: ServiceProcess) -> None:
    response = httpx.post(f"{pytorch_service.url}/embed/base64", content=b"{images: [")
    detail = assert_error(response, 422, "bad_request_body")
    assert "not valid JSON" in detail["error"]


def test_more_images_than_max_batch_size_is_413_naming_the_limit(
    pytorch_service: ServiceProcess, photo_tensors: dict[str, np.ndarray]
) -> None:
    response = _post_json(pytorch_service.url, {"images": ["aGk="] * (MAX_BATCH_SIZE + 1)})
    detail = assert_error(response, 413, "too_many_images")
    assert detail["limit"] == MAX_BATCH_SIZE
    assert f"MAX_BATCH_SIZE={MAX_BATCH_SIZE}" in detail["error"]
    one = next(iter(photo_tensors.values()))
    too_many = np.broadcast_to(one, (MAX_BATCH_SIZE + 1, *one.shape))
    detail = assert_error(post_tensors(pytorch_service.url, too_many), 413, "body_too_large")
    assert detail["limit"] == MAX_BATCH_SIZE * IMAGE_NBYTES


@pytest.mark.parametrize(
    ("size", "kind"),
    [(0, "empty_batch"), (3, "bad_tensor_length"), (IMAGE_NBYTES + 4, "bad_tensor_length")],
)
def test_tensor_bodies_must_be_whole_images(
    pytorch_service: ServiceProcess, size: int, kind: str
) -> None:
    body = bytes(size)
    response = httpx.post(f"{pytorch_service.url}/embed/tensors", content=body, headers=OCTET)
    detail = assert_error(response, 422, kind)
    if kind == "bad_tensor_length":
        assert str(IMAGE_NBYTES) in detail["error"]


def test_nan_and_inf_tensors_name_each_bad_image(
    pytorch_service: ServiceProcess, photo_tensors: dict[str, np.ndarray]
) -> None:
    batch = np.stack(list(photo_tensors.values())[:5]).copy()
    batch[1, 0, 10, 10] = np.nan
    batch[3, 2, 223, 0] = np.inf
    detail = assert_error(post_tensors(pytorch_service.url, batch), 422, "non_finite")
    assert [item["index"] for item in detail["items"]] == [1, 3]


def test_tensors_with_another_content_type_are_415(pytorch_service: ServiceProcess) -> None:
    response = httpx.post(
        f"{pytorch_service.url}/embed/tensors",
        content=bytes(IMAGE_NBYTES),
        headers={"content-type": "application/json"},
    )
    assert_error(response, 415, "unsupported_media_type")


def test_service_still_serves_after_bad_requests(
    pytorch_service: ServiceProcess, photo_tensors: dict[str, np.ndarray]
) -> None:
    # Self-contained: it sends its own bad requests and counts by difference, so it passes
    # alone and in any order (it used to rely on the tests above having run first).
    url = pytorch_service.url
    kinds = ("bad_images", "bad_request_body", "bad_tensor_length", "unsupported_media_type")
    before = {kind: metric(url, "photodup_errors_total", kind=kind) for kind in kinds}
    fives = {
        (endpoint, status): metric(url, "photodup_requests_total", endpoint=endpoint, status=status)
        for endpoint in ("/embed/base64", "/embed/tensors")
        for status in ("500", "503")
    }
    for _ in range(3):
        assert_error(_post_json(url, {"images": ["***", b64(b"text")]}), 422, "bad_images")
        assert_error(_post_json(url, {"images": [1]}), 422, "bad_request_body")
        response = httpx.post(f"{url}/embed/tensors", content=bytes(7), headers=OCTET)
        assert_error(response, 422, "bad_tensor_length")
        wrong = {"content-type": "image/jpeg"}
        response = httpx.post(f"{url}/embed/tensors", content=bytes(IMAGE_NBYTES), headers=wrong)
        assert_error(response, 415, "unsupported_media_type")
    batch = np.stack(list(photo_tensors.values())[:2])
    embeddings = embed_tensors(url, batch)
    assert embeddings.shape == (2, 512) and np.isfinite(embeddings).all()
    for kind in kinds:
        assert metric(url, "photodup_errors_total", kind=kind) - before[kind] == 3, kind
    for (endpoint, status), count in fives.items():
        after = metric(url, "photodup_requests_total", endpoint=endpoint, status=status)
        assert after == count, (endpoint, status)


def _jpeg_of_size(min_bytes: int) -> bytes:
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, size=(256, 256, 3), dtype=np.uint8)  # noise compresses badly
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "JPEG", quality=95)
    assert buffer.tell() > min_bytes
    return buffer.getvalue()


def test_images_over_max_image_bytes_are_413_by_index(
    limited_service: ServiceProcess, photo_bytes: dict[str, bytes]
) -> None:
    small = Image.open(io.BytesIO(next(iter(photo_bytes.values())))).resize((64, 64))
    buffer = io.BytesIO()
    small.save(buffer, "JPEG")
    assert buffer.tell() < 20_000
    images = [b64(buffer.getvalue()), b64(_jpeg_of_size(20_000)), "***"]
    detail = assert_error(_post_json(limited_service.url, {"images": images}), 413, "bad_images")
    kinds = {item["index"]: item["kind"] for item in detail["items"]}
    assert kinds == {1: "too_large", 2: "bad_base64"}
    assert "MAX_IMAGE_BYTES=20000" in detail["items"][0]["error"]


def test_request_body_over_the_limit_is_refused_before_decoding(
    limited_service: ServiceProcess,
) -> None:
    # 32 images of 20 kB fit in about 0.9 MB of JSON; 2 MB cannot be a valid request.
    response = _post_json(limited_service.url, {"images": ["A" * 2_000_000]})
    detail = assert_error(response, 413, "body_too_large")
    assert detail["limit"] < 2_000_000
