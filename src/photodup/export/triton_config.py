"""Render ``config.pbtxt`` for the exported model from the names in ``photodup.contract``."""

from __future__ import annotations

from photodup import contract
from photodup.export.options import ExportOptions


def _dims(shape: tuple[int, ...]) -> str:
    return "[ " + ", ".join(str(d) for d in shape) + " ]"


def render_config(options: ExportOptions, model: contract.ServedModel = contract.FP32_MODEL) -> str:
    """The text of ``config.pbtxt`` for ``options`` (protobuf text format, ModelConfig)."""
    if options.triton_backend == "onnxruntime":
        runtime = 'platform: "onnxruntime_onnx"\ndefault_model_filename: "model.onnx"\n'
    else:
        runtime = 'backend: "python"\n'
    preferred = ", ".join(
        str(size) for size in contract.PREFERRED_BATCH_SIZES if size <= options.max_batch_size
    )
    from photodup.model.openclip import pretrained_tag

    # Recorded in the config so clients can ask Triton which weights it serves.
    pretrained = pretrained_tag(options.pretrained, options.checkpoint)
    kind = "KIND_GPU" if options.instance_kind == "gpu" else "KIND_CPU"
    text = (
        f'name: "{model.name}"\n'
        f"{runtime}"
        f"max_batch_size: {options.max_batch_size}\n"
        "input [\n"
        "  {\n"
        f'    name: "{model.input_name}"\n'
        f"    data_type: TYPE_{model.input_dtype}\n"
        f"    dims: {_dims(contract.INPUT_SHAPE)}\n"
        "  }\n"
        "]\n"
        "output [\n"
        "  {\n"
        f'    name: "{contract.OUTPUT_NAME}"\n'
        "    data_type: TYPE_FP32\n"
        f"    dims: {_dims(contract.OUTPUT_SHAPE)}\n"
        "  }\n"
        "]\n"
        f'parameters {{ key: "model_name" value: {{ string_value: "{options.model_name}" }} }}\n'
        f'parameters {{ key: "pretrained" value: {{ string_value: "{pretrained}" }} }}\n'
        "dynamic_batching {\n"
        f"  preferred_batch_size: [ {preferred} ]\n"
        f"  max_queue_delay_microseconds: {contract.MAX_QUEUE_DELAY_US}\n"
        "}\n"
        "instance_group [\n"
        "  {\n"
        "    count: 1\n"
        f"    kind: {kind}\n"
        "  }\n"
        "]\n"
    )
    if options.tensorrt:
        # TensorRT builds its engines inside ONNX Runtime on first use; FP16 engines when the
        # export asked for half precision, so both settings stay in step.
        precision = "FP16" if options.fp16 else "FP32"
        text += (
            "optimization {\n"
            "  execution_accelerators {\n"
            "    gpu_execution_accelerator: [\n"
            "      {\n"
            '        name: "tensorrt"\n'
            f'        parameters {{ key: "precision_mode" value: "{precision}" }}\n'
            '        parameters { key: "max_workspace_size_bytes" value: "1073741824" }\n'
            "      }\n"
            "    ]\n"
            "  }\n"
            "}\n"
        )
    return text
