"""The Triton service: its model configuration as the exporter writes it for the container, and
the flags its command passes to tritonserver.

``config.pbtxt`` is rendered by the exporter's own function and parsed with Triton's protobuf
schema (``tritonclient.grpc.model_config_pb2.ModelConfig``): a field Triton does not know, a
wrong enum or broken syntax fails the parse, just as it would fail the server's model load.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path

import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from deploy.cli_args import export_options, parse_photodup
from deploy.stack import BASE_FILES, GPU_FILES, ComposeConfig
from photodup import contract
from photodup.export import ExportOptions
from photodup.export.triton_config import render_config

KIND = {"gpu": mc.ModelInstanceGroup.KIND_GPU, "cpu": mc.ModelInstanceGroup.KIND_CPU}


def parse(text: str) -> mc.ModelConfig:
    return text_format.Parse(text, mc.ModelConfig())


@pytest.mark.parametrize(
    ("kind", "tensorrt", "fp16"),
    [("cpu", False, False), ("gpu", False, False), ("gpu", True, False), ("gpu", True, True)],
)
def test_container_model_config_parses(kind: str, tensorrt: bool, fp16: bool) -> None:
    options = ExportOptions(
        triton_backend="onnxruntime", instance_kind=kind, tensorrt=tensorrt, fp16=fp16
    )
    options.validate(cuda_available=True)
    config = parse(render_config(options))
    assert config.name == contract.TRITON_MODEL_NAME
    assert config.platform == "onnxruntime_onnx"
    assert config.max_batch_size == contract.MAX_BATCH_SIZE
    (inp,) = config.input
    (out,) = config.output
    assert (inp.name, inp.data_type, tuple(inp.dims)) == (
        contract.INPUT_NAME,
        mc.TYPE_FP32,
        contract.INPUT_SHAPE,
    )
    assert (out.name, out.data_type, tuple(out.dims)) == (
        contract.OUTPUT_NAME,
        mc.TYPE_FP32,
        contract.OUTPUT_SHAPE,
    )
    assert [group.kind for group in config.instance_group] == [KIND[kind]]
    assert tuple(config.dynamic_batching.preferred_batch_size) == contract.PREFERRED_BATCH_SIZES
    accelerators = config.optimization.execution_accelerators.gpu_execution_accelerator
    if tensorrt:
        (trt,) = accelerators
        assert trt.name == "tensorrt"
        assert trt.parameters["precision_mode"] == ("FP16" if fp16 else "FP32")
    else:
        assert not accelerators


@pytest.mark.parametrize(("files", "kind"), [(BASE_FILES, "cpu"), (GPU_FILES, "gpu")])
def test_config_of_the_compose_exporter_parses(
    compose_config: ComposeConfig, files: tuple[str, ...], kind: str
) -> None:
    """Exactly the options the compose exporter passes, through the exporter's renderer."""
    command = compose_config(files, "triton")["services"]["exporter"]["command"]
    config = parse(render_config(export_options(parse_photodup(command)[1])))
    assert config.platform == "onnxruntime_onnx"
    assert [group.kind for group in config.instance_group] == [KIND[kind]]


def test_a_broken_config_is_rejected() -> None:
    """The parse is strict: an unknown field fails, so the tests above can fail."""
    text = render_config(ExportOptions(triton_backend="onnxruntime", instance_kind="cpu"))
    with pytest.raises(text_format.ParseError):
        parse(text + "instance_count: 2\n")


def _local_tritonserver() -> Path:
    spec = importlib.util.find_spec("pytriton")
    assert spec is not None and spec.submodule_search_locations, "nvidia-pytriton is missing"
    return (
        Path(next(iter(spec.submodule_search_locations))) / "tritonserver" / "bin" / "tritonserver"
    )


def test_triton_flags_exist(compose_config: ComposeConfig) -> None:
    """The compose command's flags are ones tritonserver knows (the binary nvidia-pytriton ships;
    same server, older release than the container)."""
    command = compose_config(BASE_FILES, "triton")["services"]["triton"]["command"]
    assert command[0] == "tritonserver"
    assert "--model-repository=/models" in command
    done = subprocess.run(
        [str(_local_tritonserver()), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
    )
    usage = done.stdout + done.stderr
    assert "--model-repository" in usage, usage[-2000:]
    for arg in command[1:]:
        flag, _, value = arg.partition("=")
        assert f"{flag} <" in usage, f"tritonserver has no {flag}"
        if "<boolean>" in usage.split(f"{flag} <", 1)[1][:10]:
            assert value in {"true", "false"}, arg
