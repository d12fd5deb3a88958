"""The raw engines, in process: the ceiling every served figure is divided by.

ONNX Runtime runs the exported ``model.onnx`` (what Triton's Python backend runs) and PyTorch
runs ``load_embedder`` (what the PyTorch service runs), on the same preprocessed tensors and
batch sizes as the served phases, with no HTTP, no serialisation and no queue.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from photodup.bench.inputs import BenchInputs
from photodup.bench.timing import run_sequential

log = logging.getLogger(__name__)

#: batch [N,3,224,224] float32 -> embeddings [N,512]
Engine = Callable[[np.ndarray], np.ndarray]


def onnxruntime_engine(onnx_path: Path, *, gpu: bool = False) -> tuple[Engine, dict[str, Any]]:
    import onnxruntime as ort

    from photodup.contract import INPUT_NAME, OUTPUT_NAME

    started = time.perf_counter()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    providers: list[str] = ["CPUExecutionProvider"]
    if gpu and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    session = ort.InferenceSession(str(onnx_path), options, providers=providers)

    def run(batch: np.ndarray) -> np.ndarray:
        return session.run([OUTPUT_NAME], {INPUT_NAME: batch})[0]

    info = {
        "engine": "onnxruntime",
        "version": ort.__version__,
        "model": str(onnx_path),
        "providers": session.get_providers(),
        "load_seconds": time.perf_counter() - started,
    }
    return run, info


def pytorch_engine(
    model_name: str, pretrained: str, *, device: str = "cpu", fp16: bool = False
) -> tuple[Engine, dict[str, Any]]:
    import torch

    from photodup.model.openclip import load_embedder

    loaded = load_embedder(model_name, pretrained, device=device)
    model = loaded.embedder.half() if fp16 else loaded.embedder
    dtype = torch.float16 if fp16 else torch.float32

    def run(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            tensor = torch.from_numpy(batch).to(loaded.device, dtype=dtype)
            return model(tensor).float().cpu().numpy()

    info = {
        "engine": "pytorch",
        "version": torch.__version__,
        "device": loaded.device,
        "dtype": "float16" if fp16 else "float32",
        "threads": torch.get_num_threads(),
        "load_seconds": loaded.load_seconds,
    }
    return run, info


def measure_engine(
    engine: Engine,
    inputs: BenchInputs,
    *,
    batch_sizes: list[int],
    requests: int,
    warmup: int,
    on_progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Latency and throughput of ``engine`` at each batch size, warm-up excluded."""
    results: dict[str, Any] = {}
    for size in batch_sizes:
        on_progress(f"batch {size}")
        batches = [inputs.tensor_batch(i * size, size) for i in range(max(requests, 1))]

        def call(i: int, size: int = size, batches: list[np.ndarray] = batches) -> int:
            out = engine(batches[i % len(batches)])
            if out.shape[0] != size:
                raise RuntimeError(f"engine returned {out.shape[0]} rows for a batch of {size}")
            return size

        summary, _ = run_sequential(call, requests=requests, warmup=warmup, batch_size=size)
        results[str(size)] = summary.as_dict()
    return results
