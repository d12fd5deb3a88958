"""config.pbtxt for every backend and instance kind, parsed with Triton's own protobuf schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from photodup import contract
from photodup.export import ExportOptions
from photodup.export.triton_config import render_config

KINDS = {"gpu": mc.ModelInstanceGroup.KIND_GPU, "cpu": mc.ModelInstanceGroup.KIND_CPU}


def parse(text: str) -> mc.ModelConfig:
    return text_format.Parse(text, mc.ModelConfig())


@pytest.mark.parametrize("backend", ["onnxruntime", "python"])
@pytest.mark.parametrize("kind", ["gpu", "cpu"])
def test_every_variant_parses_with_the_contract_names(backend: str, kind: str) -> None:
    options = ExportOptions(pretrained="none", triton_backend=backend, instance_kind=kind)  # type: ignore[arg-type]
    config = parse(render_config(options))
    assert config.name == contract.TRITON_MODEL_NAME
    if backend == "onnxruntime":
        assert (config.platform, config.backend) == ("onnxruntime_onnx", "")
        assert config.default_model_filename == "model.onnx"
    else:
        assert (config.platform, config.backend) == ("", "python")
    assert config.max_batch_size == contract.MAX_BATCH_SIZE
    (image,) = config.input
    (embedding,) = config.output
    assert (image.name, image.data_type, tuple(image.dims)) == (
        contract.INPUT_NAME,
        mc.TYPE_FP32,
        contract.INPUT_SHAPE,
    )
    assert (embedding.name, embedding.data_type, tuple(embedding.dims)) == (
        contract.OUTPUT_NAME,
        mc.TYPE_FP32,
        contract.OUTPUT_SHAPE,
    )
    batching = config.dynamic_batching
    assert tuple(batching.preferred_batch_size) == contract.PREFERRED_BATCH_SIZES
    assert batching.max_queue_delay_microseconds == contract.MAX_QUEUE_DELAY_US
    assert [(g.count, g.kind) for g in config.instance_group] == [(1, KINDS[kind])]
    assert config.parameters["pretrained"].string_value == "none"
    assert config.parameters["model_name"].string_value == contract.MODEL_ARCH
    assert not config.optimization.execution_accelerators.gpu_execution_accelerator


@pytest.mark.parametrize("fp16", [False, True])
def test_tensorrt_adds_the_gpu_accelerator(fp16: bool) -> None:
    options = ExportOptions(
        triton_backend="onnxruntime", instance_kind="gpu", tensorrt=True, fp16=fp16
    )
    options.validate(cuda_available=True)
    config = parse(render_config(options))
    (trt,) = config.optimization.execution_accelerators.gpu_execution_accelerator
    assert trt.name == "tensorrt"
    assert trt.parameters["precision_mode"] == ("FP16" if fp16 else "FP32")


def test_a_smaller_max_batch_keeps_only_preferred_sizes_it_allows() -> None:
    config = parse(render_config(ExportOptions(max_batch_size=16)))
    assert config.max_batch_size == 16
    assert tuple(config.dynamic_batching.preferred_batch_size) == (8, 16)


def test_checkpoint_exports_record_the_file_name(tmp_path: Path) -> None:
    weights = tmp_path / "my-weights.bin"
    weights.write_bytes(b"not used by the renderer")
    config = parse(render_config(ExportOptions(checkpoint=weights)))
    assert config.parameters["pretrained"].string_value == "file:my-weights.bin"


def test_the_written_config_is_the_rendered_one(model_repository: Path) -> None:
    written = (model_repository / contract.TRITON_MODEL_NAME / "config.pbtxt").read_text()
    config = parse(written)
    assert config.backend == "python"
    assert [g.kind for g in config.instance_group] == [mc.ModelInstanceGroup.KIND_CPU]
