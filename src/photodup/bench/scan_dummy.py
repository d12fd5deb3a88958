"""A Triton repository with a stand-in model for the scan's rescan and memory figures.

Those figures are about the scan's own pipeline (walk, index, back-pressure), not the model:
a real ViT-B-32 would take an hour to embed the 10,000-file library once on two cores. The
stand-in keeps the real contract (same tensor names and shapes, served by the real
tritonserver through the real client) and takes ``delay_ms`` per image without using the CPU,
so it is still slower than decoding small photos: the case where an unbounded pipeline piles
up decoded photos in memory.
"""

from __future__ import annotations

from pathlib import Path

from photodup import contract

MODEL_NAME = "scan_stand_in"

_MODEL = """
import time
import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            x = pb_utils.get_input_tensor_by_name(request, "{input}").as_numpy()
            time.sleep({delay_s} * x.shape[0])
            out = np.zeros((x.shape[0], {dim}), dtype=np.float32)
            out[:, :3] = x.mean(axis=(2, 3))
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-6)
            out[np.linalg.norm(out, axis=1) < 0.5, 0] = 1.0
            tensor = pb_utils.Tensor("{output}", out)
            responses.append(pb_utils.InferenceResponse(output_tensors=[tensor]))
        return responses
"""


def write_stand_in_repository(repo: Path, *, delay_ms: float = 5.0) -> Path:
    version = repo / MODEL_NAME / "1"
    version.mkdir(parents=True, exist_ok=True)
    source = _MODEL.replace("{input}", contract.INPUT_NAME).replace(
        "{output}", contract.OUTPUT_NAME
    )
    source = source.replace("{delay_s}", repr(delay_ms / 1000)).replace(
        "{dim}", str(contract.EMBED_DIM)
    )
    (version / "model.py").write_text(source)
    shape = ", ".join(str(d) for d in contract.INPUT_SHAPE)
    (repo / MODEL_NAME / "config.pbtxt").write_text(
        f'name: "{MODEL_NAME}"\nbackend: "python"\nmax_batch_size: {contract.MAX_BATCH_SIZE}\n'
        f'input [{{ name: "{contract.INPUT_NAME}" data_type: TYPE_FP32 dims: [{shape}] }}]\n'
        f'output [{{ name: "{contract.OUTPUT_NAME}" data_type: TYPE_FP32 '
        f"dims: [{contract.EMBED_DIM}] }}]\n"
        "instance_group [{ count: 1 kind: KIND_CPU }]\n"
        'parameters { key: "model_name" value: { string_value: "stand-in" } }\n'
        f'parameters {{ key: "pretrained" value: {{ string_value: "delay-{delay_ms:g}ms" }} }}\n'
    )
    return repo
