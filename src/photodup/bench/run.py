"""The whole bench, in order: machine, inputs, model repository, raw engines, backends, GPU extras.

Raw engines run first, while no server is up, so the reference is not slowed by an idle
server; backends then run one at a time (see :mod:`photodup.bench.targets`).
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from photodup.bench.analysis import compare
from photodup.bench.config import BenchConfig
from photodup.bench.inputs import BenchInputs, load_inputs
from photodup.bench.machine import cuda_available, load_average, machine_info, now_iso
from photodup.bench.reference import measure_engine, onnxruntime_engine, pytorch_engine
from photodup.bench.targets import check_reachable, measure_all
from photodup.contract import MODEL_ARCH, TRITON_MODEL_NAME

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
SCHEMA_VERSION = 1

#: What the seed project promised; printed only beside the measured figure, as expectations.
EXPECTATIONS = {
    "triton_concurrency_speedup": {
        "text": "2-3x higher throughput under concurrency for Triton",
        "low": 2.0,
        "high": 3.0,
    },
}


def latest_onnx(repository: Path) -> Path | None:
    model_dir = repository / TRITON_MODEL_NAME
    if not model_dir.is_dir():
        return None
    versions = sorted((int(p.name) for p in model_dir.iterdir() if p.name.isdigit()), reverse=True)
    for version in versions:
        path = model_dir / str(version) / "model.onnx"
        if path.is_file():
            return path
    return None


def prepare_repository(config: BenchConfig, progress: Progress, *, fp16: bool = False) -> Path:
    """The given ``--model-repository``, or a python-backend export cached under cache_dir."""
    if config.model_repository is not None and not fp16:
        if latest_onnx(config.model_repository) is None:
            raise FileNotFoundError(
                f"--model-repository {config.model_repository} has no "
                f"{TRITON_MODEL_NAME}/<version>/model.onnx; run `photodup export` first"
            )
        return config.model_repository
    from photodup.export import ExportOptions, export_repository

    kind: Literal["gpu", "cpu"] = "gpu" if fp16 else "cpu"
    output = (
        config.cache_dir / f"model_repository-{config.pretrained}-{kind}{'-fp16' if fp16 else ''}"
    )
    progress(f"exporting {MODEL_ARCH} ({config.pretrained}{', fp16' if fp16 else ''}) to {output}")
    options = ExportOptions(
        pretrained=config.pretrained,
        output=output,
        triton_backend="python",
        instance_kind=kind,
        fp16=fp16,
    )
    result = export_repository(options)
    log.info(
        "model repository %s (%s)", result.model_dir, "cached" if result.skipped else "exported"
    )
    return output


def measure_references(
    config: BenchConfig, inputs: BenchInputs, onnx_path: Path | None, progress: Progress
) -> dict[str, Any]:
    profile = config.profile
    sizes = list(profile.batch_sizes)
    out: dict[str, Any] = {}

    def run(name: str, factory: Callable[[], Any]) -> None:
        progress(f"raw engine {name}: loading")
        engine, info = factory()
        info["batch"] = measure_engine(
            engine,
            inputs,
            batch_sizes=sizes,
            requests=profile.batch_iterations,
            warmup=profile.warmup,
            on_progress=lambda what: progress(f"raw engine {name}: {what}"),
        )
        out[name] = info
        del engine
        gc.collect()  # free the weights before the servers start

    run("pytorch", lambda: pytorch_engine(MODEL_ARCH, config.pretrained, device="auto"))
    if onnx_path is not None:
        run("onnxruntime", lambda: onnxruntime_engine(onnx_path))
    else:
        out["onnxruntime"] = {"skipped": "no model.onnx (Triton not benchmarked)"}
    return out


def gpu_variants(
    config: BenchConfig,
    inputs: BenchInputs,
    log_dir: Path,
    progress: Progress,
    results: dict[str, Any],
) -> dict[str, Any]:
    """FP16 (and TensorRT where possible) beside FP32, only where a CUDA GPU is present.

    Measured variants join ``results["reference"]`` / ``results["targets"]`` so every table
    and chart shows them; a variant that fails is recorded as failed and the run goes on.
    """
    cuda, reason = cuda_available()
    if not cuda:
        return {"status": "skipped: no GPU", "reason": reason}
    if not config.gpu_variants:
        return {"status": "skipped: --no-gpu-variants", "reason": "asked on the command line"}
    profile = config.profile
    out: dict[str, Any] = {"status": "measured", "reason": reason}

    def raw_fp16() -> None:
        progress("raw engine pytorch fp16")
        engine, info = pytorch_engine(MODEL_ARCH, config.pretrained, device="cuda", fp16=True)
        info["batch"] = measure_engine(
            engine,
            inputs,
            batch_sizes=list(profile.batch_sizes),
            requests=profile.batch_iterations,
            warmup=profile.warmup,
        )
        results["reference"]["pytorch_fp16"] = info

    def triton_fp16() -> None:
        from photodup.bench.served import measure_target
        from photodup.bench.targets import local_triton

        repository = prepare_repository(config, progress, fp16=True)
        one = inputs.tensor_batch(0, 1)
        with local_triton(repository, log_dir, one, name="triton-fp16") as (target, cold, *_):
            result = measure_target(target, inputs, profile, progress)
            result["cold_start"] = cold
        results["targets"]["triton-fp16"] = result

    variants = {"pytorch_fp16": raw_fp16}
    if "triton" in config.backends and config.start_local:
        variants["triton_fp16"] = triton_fp16
    for name, measure in variants.items():
        try:
            measure()
            out[name] = {"status": "measured"}
        except Exception as exc:  # a GPU extra must not cost the FP32 results already taken
            log.exception("GPU variant %s failed", name)
            out[name] = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
    out["triton_tensorrt"] = {
        "status": "skipped",
        "reason": "TensorRT is an accelerator of Triton's onnxruntime backend, which the local "
        "tritonserver (nvidia-pytriton) lacks; start the NGC container with an export made with "
        "--triton-backend onnxruntime --tensorrt and bench it with --url-triton",
    }
    return out


def run_bench(config: BenchConfig, log_dir: Path, report_progress: Progress) -> dict[str, Any]:
    started_at, t0 = now_iso(), time.perf_counter()
    load_start = load_average()
    load_samples: list[dict[str, Any]] = []

    def progress(message: str) -> None:
        # The load at each step shows whether other work shared the CPU while it ran.
        load = load_average()
        load_samples.append({"step": message, "load_1m": load[0] if load else None})
        report_progress(message)

    results: dict[str, Any] = {"schema": SCHEMA_VERSION, "started_at": started_at}
    results["machine"] = machine_info()
    results["config"] = config.as_dict()
    check_reachable(config)
    progress("preparing the input photos")
    inputs = load_inputs(config.profile.image_count, config.cache_dir / "inputs", config.images_dir)
    results["inputs"] = inputs.describe()
    repository = None
    if "triton" in config.backends and (config.start_local or config.model_repository):
        repository = prepare_repository(config, progress)
    elif "triton" in config.backends:
        # A remote Triton still gets its raw-engine reference when a local export is cached.
        cached = config.cache_dir / f"model_repository-{config.pretrained}-cpu"
        repository = cached if latest_onnx(cached) else None
    results["model_repository"] = str(repository) if repository else None
    onnx_path = latest_onnx(repository) if repository else None
    results["reference"] = measure_references(config, inputs, onnx_path, progress)
    targets, transport = measure_all(config, inputs, repository, log_dir, progress)
    results["targets"] = targets
    results["transport"] = transport
    results["gpu_variants"] = gpu_variants(config, inputs, log_dir, progress, results)
    results["expectations"] = EXPECTATIONS
    results["finished_at"] = now_iso()
    results["duration_s"] = time.perf_counter() - t0
    results["load_average"] = {"start": load_start, "end": load_average(), "steps": load_samples}
    results["comparisons"] = compare(results)
    return results
