"""Triton Python-backend model that runs the exported ``model.onnx`` with ONNX Runtime.

The exporter copies this file verbatim to ``<repo>/<model>/<version>/model.py``. It runs inside
Triton's Python stub, where ``photodup`` may not be importable (the NGC container has only
Triton, numpy and onnxruntime), so it imports nothing from the package: tensor names, dims and
the batch limit come from the model's ``config.pbtxt``, which the exporter writes from
``photodup.contract``.

Triton's dynamic batcher hands ``execute`` several requests at once; they are concatenated
into one ONNX Runtime call and the result is split back per request. A request with a bad
shape or dtype gets its own error response and does not spoil the others.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils  # provided by Triton's Python stub


class TritonPythonModel:
    def initialize(self, args: dict[str, Any]) -> None:
        config = json.loads(args["model_config"])
        self.input_name = config["input"][0]["name"]
        self.input_dims = tuple(int(d) for d in config["input"][0]["dims"])
        # FP32 for openclip_vit_b32, UINT8 for openclip_vit_b32_uint8 (normalises in its graph).
        self.input_type = str(config["input"][0]["data_type"]).removeprefix("TYPE_")
        self.input_dtype = np.dtype({"FP32": np.float32, "UINT8": np.uint8}[self.input_type])
        self.output_name = config["output"][0]["name"]
        self.output_dims = tuple(int(d) for d in config["output"][0]["dims"])
        self.max_batch_size = int(config.get("max_batch_size", 0))
        onnx_path = Path(args["model_repository"]) / args["model_version"] / "model.onnx"
        if not onnx_path.is_file():
            raise pb_utils.TritonModelException(f"{onnx_path} is missing; run `photodup export`")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        threads = config.get("parameters", {}).get("intra_op_thread_count", {}).get("string_value")
        if threads:
            options.intra_op_num_threads = int(threads)
        providers: list[Any] = ["CPUExecutionProvider"]
        if args.get("model_instance_kind") == "GPU" and (
            "CUDAExecutionProvider" in ort.get_available_providers()
        ):
            device = int(args.get("model_instance_device_id", 0))
            providers.insert(0, ("CUDAExecutionProvider", {"device_id": device}))
        self.session = ort.InferenceSession(str(onnx_path), options, providers=providers)
        names = (
            [i.name for i in self.session.get_inputs()],
            [o.name for o in self.session.get_outputs()],
        )
        if names != ([self.input_name], [self.output_name]):
            raise pb_utils.TritonModelException(
                f"model.onnx has inputs/outputs {names}, config.pbtxt expects "
                f"[{self.input_name}] -> [{self.output_name}]; re-run `photodup export --force`"
            )

    def _check(self, array: np.ndarray) -> str | None:
        """Why ``array`` cannot be run, or None when it can."""
        if array.dtype != self.input_dtype:
            return f"input '{self.input_name}' must be {self.input_type}, got {array.dtype}"
        if array.ndim != len(self.input_dims) + 1 or tuple(array.shape[1:]) != self.input_dims:
            expected = ", ".join(str(d) for d in ("N", *self.input_dims))
            return (
                f"input '{self.input_name}' must have shape [{expected}], got {list(array.shape)}"
            )
        if array.shape[0] == 0:
            return f"input '{self.input_name}' has an empty batch"
        return None

    def execute(self, requests: list[Any]) -> list[Any]:
        responses: list[Any] = [None] * len(requests)
        good: list[tuple[int, np.ndarray]] = []
        for index, request in enumerate(requests):
            tensor = pb_utils.get_input_tensor_by_name(request, self.input_name)
            if tensor is None:
                problem: str | None = f"missing input '{self.input_name}'"
            else:
                array = tensor.as_numpy()
                problem = self._check(array)
            if problem is not None:
                responses[index] = pb_utils.InferenceResponse(error=pb_utils.TritonError(problem))
            else:
                good.append((index, array))
        if good:
            batch = np.concatenate([array for _, array in good], axis=0)
            try:
                output = self.session.run([self.output_name], {self.input_name: batch})[0]
            except Exception as exc:  # ORT raises several types; each request must get an answer
                for index, _ in good:
                    error = pb_utils.TritonError(f"ONNX Runtime failed: {exc}")
                    responses[index] = pb_utils.InferenceResponse(error=error)
                return responses
            output = np.ascontiguousarray(output, dtype=np.float32)
            start = 0
            for index, array in good:
                stop = start + array.shape[0]
                out = pb_utils.Tensor(self.output_name, output[start:stop])
                responses[index] = pb_utils.InferenceResponse(output_tensors=[out])
                start = stop
        return responses

    def finalize(self) -> None:
        self.session = None
