"""Issue 9 part 4: the uint8 model beside the seed's fp32 one, on disk and through Triton.

Names come from ``photodup.contract`` alone: the exporter's ONNX graph and ``config.pbtxt`` and
the client's requests must agree with it. Parity is measured through a real tritonserver on real
photos, over both protocols, and the bytes on the wire through a counting relay.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from client.helpers import (
    client_settings,
    cosine_rows,
    triton_counts_reaching,
    triton_counts_settled,
)
from fixtures.models import copy_repository
from fixtures.triton import start_triton
from photodup import contract
from photodup.bench.relay import CountingRelay
from photodup.client import InferenceClient
from photodup.export import ExportResult
from photodup.finder.sources import COLOUR_PHOTOS, load_real_photo
from photodup.imaging import preprocess
from photodup.imaging.preprocess import preprocess_uint8
from photodup.triton import LocalTriton

ONNX_DTYPES = {"FP32": onnx.TensorProto.FLOAT, "UINT8": onnx.TensorProto.UINT8}


@pytest.mark.parametrize("model", contract.SERVED_MODELS, ids=lambda m: m.name)
def test_graph_and_config_use_the_contract_names(
    model: contract.ServedModel, model_repository: Path
) -> None:
    graph = onnx.load(
        str(model_repository / model.name / "1" / "model.onnx"), load_external_data=False
    )
    (image,) = graph.graph.input
    assert image.name == model.input_name
    assert image.type.tensor_type.elem_type == ONNX_DTYPES[model.input_dtype]
    dims = [d.dim_value or d.dim_param for d in image.type.tensor_type.shape.dim]
    assert dims[1:] == list(contract.INPUT_SHAPE) and isinstance(dims[0], str)
    (output,) = graph.graph.output
    assert output.name == contract.OUTPUT_NAME
    text = (model_repository / model.name / "config.pbtxt").read_text()
    config = text_format.Parse(text, model_config_pb2.ModelConfig())
    assert config.name == model.name
    assert [(i.name, model_config_pb2.DataType.Name(i.data_type)) for i in config.input] == [
        (model.input_name, f"TYPE_{model.input_dtype}")
    ]
    assert list(config.input[0].dims) == list(contract.INPUT_SHAPE)
    assert [o.name for o in config.output] == [contract.OUTPUT_NAME]
    assert config.max_batch_size == contract.MAX_BATCH_SIZE


def test_the_fp32_model_keeps_the_seed_contract(model_repository: Path) -> None:
    text = (model_repository / contract.TRITON_MODEL_NAME / "config.pbtxt").read_text()
    config = text_format.Parse(text, model_config_pb2.ModelConfig())
    assert (config.name, config.input[0].name) == ("openclip_vit_b32", "image")
    assert model_config_pb2.DataType.Name(config.input[0].data_type) == "TYPE_FP32"


def test_the_export_records_uint8_parity_and_reuses_it(model_export: ExportResult) -> None:
    (uint8,) = model_export.companions
    assert uint8.model_dir.name == contract.UINT8_MODEL_NAME
    assert uint8.version == model_export.version
    assert uint8.manifest["source_onnx_sha256"] == model_export.manifest["onnx_sha256"]
    # The prefix repeats the client's float32 arithmetic, so the graph behind it sees the same
    # numbers: measured cosine 1.0, max abs diff 0.0.
    assert uint8.manifest["parity"]["ok"] and uint8.manifest["parity"]["min_cosine"] >= 0.9999


@pytest.fixture(scope="module")
def photos() -> list:
    return [load_real_photo(name) for name in COLOUR_PHOTOS]


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_uint8_model_matches_fp32_through_triton(
    protocol: str, triton_server: LocalTriton, photos: list
) -> None:
    url = triton_server.http_url if protocol == "http" else triton_server.grpc_url
    with InferenceClient(url, "triton", protocol=protocol, settings=client_settings()) as client:
        assert client.uses_uint8()
        before = triton_counts_settled(triton_server.http_url, contract.UINT8_MODEL_NAME)[0]
        via_uint8 = client.embed_pil(photos)
        after = triton_counts_reaching(
            triton_server.http_url, contract.UINT8_MODEL_NAME, before + len(photos)
        )[0]
        via_fp32 = client.embed_tensors(np.stack([preprocess(img) for img in photos]))
    assert after - before == len(photos)  # they really went to the uint8 model
    assert via_uint8.shape == (len(photos), contract.EMBED_DIM)
    assert cosine_rows(via_uint8, via_fp32).min() >= 0.9999


def test_uint8_sends_a_quarter_of_the_bytes(triton_server: LocalTriton, photos: list) -> None:
    pixels = np.stack([preprocess_uint8(img) for img in photos])
    per_image = {}
    for use_uint8 in (False, True):
        with CountingRelay(triton_server.ports.host, triton_server.ports.http) as relay:
            settings = client_settings(triton_uint8=use_uint8)
            url = f"http://127.0.0.1:{relay.port}"
            with InferenceClient(url, "triton", settings=settings) as client:
                assert client.uses_uint8() is use_uint8
                client.embed_pixels(pixels[:1])  # metadata requests once
                relay.reset()
                client.embed_pixels(pixels)
                per_image[use_uint8] = relay.sent / len(pixels)
    # fp32: 3*224*224*4 = 602,112 bytes per image; uint8: 150,528; plus a small header.
    assert 602_112 <= per_image[False] < 603_000
    assert 150_528 <= per_image[True] < 151_500


@pytest.fixture(scope="module")
def fp32_only_triton(
    model_repository: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalTriton]:
    repo = copy_repository(model_repository, tmp_path_factory.mktemp("fp32_only") / "repo")
    shutil.rmtree(repo / contract.UINT8_MODEL_NAME)
    server = start_triton(repo, tmp_path_factory.mktemp("fp32_only_log"))
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_falls_back_to_fp32_when_the_uint8_model_is_absent(
    protocol: str, fp32_only_triton: LocalTriton, triton_server: LocalTriton, photos: list
) -> None:
    server = fp32_only_triton
    url = server.http_url if protocol == "http" else server.grpc_url
    with InferenceClient(url, "triton", protocol=protocol, settings=client_settings()) as client:
        assert not client.uses_uint8()
        before = triton_counts_settled(server.http_url, contract.TRITON_MODEL_NAME)[0]
        fallback = client.embed_pil(photos)
        after = triton_counts_reaching(
            server.http_url, contract.TRITON_MODEL_NAME, before + len(photos)
        )[0]
        assert after - before == len(photos)
    other = triton_server.http_url if protocol == "http" else triton_server.grpc_url
    with InferenceClient(other, "triton", protocol=protocol, settings=client_settings()) as full:
        assert cosine_rows(fallback, full.embed_pil(photos)).min() >= 0.9999


@pytest.mark.parametrize(("backend", "kind"), [("onnxruntime", "gpu"), ("python", "cpu")])
def test_both_repository_variants_render_a_uint8_config(backend: str, kind: str) -> None:
    """The GPU container's onnxruntime_onnx variant and the local Python one, same names."""
    from photodup.export import ExportOptions
    from photodup.export.triton_config import render_config

    options = ExportOptions(triton_backend=backend, instance_kind=kind)  # type: ignore[arg-type]
    config = text_format.Parse(
        render_config(options, contract.UINT8_MODEL), model_config_pb2.ModelConfig()
    )
    assert config.name == contract.UINT8_MODEL_NAME
    assert (config.platform or config.backend) == (
        "onnxruntime_onnx" if backend == "onnxruntime" else "python"
    )
    assert config.input[0].name == contract.UINT8_INPUT_NAME
    assert model_config_pb2.DataType.Name(config.input[0].data_type) == "TYPE_UINT8"
    # The fp32 model's text is what it always was.
    assert render_config(options) == render_config(options, contract.FP32_MODEL)
