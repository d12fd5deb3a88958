"""``photodup bench-scan``: the whole scan, end to end, through every backend, against its limit.

For each backend (the PyTorch service with batching off and on, Triton over HTTP and gRPC,
each started here on free loopback ports) it scans the generated photo library into a fresh
index in a child process (:mod:`photodup.bench.scan_child`) while the backend's process tree
is sampled, and records photos/s, the stage times, CPU seconds and peak RSS of every process.
The limit is measured in the same run (:mod:`photodup.bench.scan_limit`). Then, through a
stand-in model (:mod:`photodup.bench.scan_dummy`), the peak memory of the scan against the
library's size and the rescan of an unchanged 10,000-file library.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from photodup.bench.proc_tree import TreeSampler, tree_cpu_seconds
from photodup.bench.scan_library import build_photo_library, build_small_library

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
BACKENDS = ("pytorch", "pytorch-batching", "triton-http", "triton-grpc")
STARTUP_TIMEOUT_S = 300.0


@dataclass
class ScanBenchConfig:
    photos: int = 600
    backends: tuple[str, ...] = BACKENDS
    memory_sizes: tuple[int, ...] = (1_000, 10_000)
    rescan_files: int = 10_000
    cache_dir: Path = Path(".cache/bench-scan")
    #: FinderSettings fields for every scan (workers, batch_size, requests_in_flight).
    scan_settings: dict[str, Any] = field(default_factory=dict)
    #: Extra runs through the PyTorch service with other settings (e.g. worker counts).
    variants: list[dict[str, Any]] = field(default_factory=list)
    stand_in_delay_ms: float = 5.0


@dataclass
class Backend:
    name: str
    kind: str  # pytorch | triton
    url: str
    protocol: str
    pid: int
    env: dict[str, str] = field(default_factory=dict)


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOTODUP_", "INFERENCE_"))}
    env.pop("TRITON_MODEL_NAME", None)
    env.update(extra)
    return env


def run_child_scan(
    library: Path, backend: Backend, settings: dict[str, Any], db: Path
) -> dict[str, Any]:
    """One scan in its own process, with the backend's tree sampled; returns its figures."""
    out = Path(tempfile.mkstemp(prefix="scan-child-", suffix=".json")[1])
    argv = [sys.executable, "-m", "photodup.bench.scan_child", str(library)]
    argv += ["--backend", backend.kind, "--url", backend.url, "--protocol", backend.protocol]
    argv += ["--settings", json.dumps({**settings, "db_path": str(db)}), "--out", str(out)]
    sampler = TreeSampler({backend.pid}, interval_s=0.25).start()
    backend_cpu0 = tree_cpu_seconds(backend.pid)
    started = time.perf_counter()
    done = subprocess.run(argv, env=_child_env(backend.env), capture_output=True, text=True)
    wall = time.perf_counter() - started
    backend_cpu = tree_cpu_seconds(backend.pid) - backend_cpu0
    backend_procs = sampler.stop()
    if done.returncode != 0 or not out.read_text():
        raise RuntimeError(f"scan through {backend.name} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.read_text())
    out.unlink()
    result.update(
        backend=backend.name,
        child_wall_s=wall,
        backend_cpu_s=backend_cpu,
        backend_processes=backend_procs,
    )
    return result


@contextmanager
def start_pytorch(name: str, log_dir: Path) -> Iterator[Backend]:
    """The PyTorch service (``pytorch`` or ``pytorch-batching``) on a free loopback port."""
    from photodup.bench.local import pytorch_process

    log_dir.mkdir(parents=True, exist_ok=True)
    batching = name.endswith("batching")
    proc, url = pytorch_process(log_dir, pretrained="none", batching=batching, device="cpu")
    with proc:
        proc.wait_http_ok(f"{url}/ready", STARTUP_TIMEOUT_S)
        yield Backend(name, "pytorch", url, "http", proc.process.pid)


@contextmanager
def start_triton(repository: Path, log_dir: Path) -> Iterator[dict[str, Backend]]:
    """The local tritonserver on free ports: ``{"triton-http": ..., "triton-grpc": ...}``."""
    from photodup.processes import free_port
    from photodup.triton import LocalTriton, TritonPorts

    log_dir.mkdir(parents=True, exist_ok=True)
    ports = TritonPorts(http=free_port(), grpc=free_port(), metrics=free_port())
    server = LocalTriton(repository, ports, log_path=log_dir / f"triton-{repository.name}.log")
    with server:
        server.wait_ready(STARTUP_TIMEOUT_S)
        assert server.process is not None
        pid = server.process.pid
        yield {
            "triton-http": Backend("triton-http", "triton", server.http_url, "http", pid),
            "triton-grpc": Backend("triton-grpc", "triton", server.grpc_url, "grpc", pid),
        }


def _export(cache: Path, progress: Progress) -> Path:
    from photodup.export import ExportOptions, export_repository

    output = cache / "model_repository-none-cpu"
    progress(f"model repository (pretrained=none, CPU, Python backend) at {output}")
    export_repository(
        ExportOptions(
            pretrained="none", output=output, triton_backend="python", instance_kind="cpu"
        )
    )
    return output


def _warm(backend: Backend, cache: Path, settings: dict[str, Any], work: Path) -> None:
    """A first tiny scan: model warm-up, connections, thread pools; not measured."""
    warm = cache / "warm-library"
    build_small_library(warm, 8)
    run_child_scan(warm, backend, settings, work / f"warm-{backend.name}.db")


def measure_limit(library: Path, repository: Path | None, progress: Progress) -> dict[str, Any]:
    from photodup.bench.reference import onnxruntime_engine, pytorch_engine
    from photodup.bench.scan_limit import client_cpu, engine_cpu

    progress("limit: client work on one core over the whole library")
    result: dict[str, Any] = {"client": client_cpu(library)}
    progress("limit: raw PyTorch engine at batch 32")
    engine, _ = pytorch_engine("ViT-B-32", "none", device="cpu")
    result["pytorch_engine"] = engine_cpu(engine)
    del engine
    if repository is not None:
        from photodup.bench.run import latest_onnx
        from photodup.contract import TRITON_MODEL_NAME

        onnx = latest_onnx(repository)
        if onnx is None:
            raise FileNotFoundError(f"{repository}: no {TRITON_MODEL_NAME}/<n>/model.onnx")
        progress("limit: raw ONNX Runtime engine at batch 32")
        ort_engine, _ = onnxruntime_engine(onnx)
        result["onnxruntime_engine"] = engine_cpu(ort_engine)
    return result


def run_scan_bench(config: ScanBenchConfig, progress: Progress = log.info) -> dict[str, Any]:
    from photodup.bench.machine import machine_info
    from photodup.bench.scan_dummy import MODEL_NAME, write_stand_in_repository

    cache = config.cache_dir.resolve()
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-scan-", dir=cache))
    library = cache / f"photo-library-{config.photos}"
    progress(f"generating the photo library ({config.photos} photos) at {library}")
    counts = build_photo_library(library, config.photos)
    wants_triton = any(b.startswith("triton") for b in config.backends)
    repository = _export(cache, progress) if wants_triton else None
    results: dict[str, Any] = {
        "machine": machine_info(),
        "library": {"path": str(library), "photos": config.photos, **counts},
        "scan_settings": config.scan_settings,
        "runs": [],
        "load_before": round(os.getloadavg()[0], 2),
    }
    results["limit"] = measure_limit(library, repository, progress)
    from photodup.bench.decode_options import measure_decode_options

    progress("decode options: full against reduced decode, 12 MP, per format")
    results["decode_options"] = measure_decode_options()
    plans = [(name, config.scan_settings) for name in config.backends]
    plans += [("pytorch", {**config.scan_settings, **v}) for v in config.variants]
    logs = work / "logs"

    def scan_through(backend: Backend, settings: dict[str, Any]) -> None:
        progress(f"scan through {backend.name} {settings or ''}")
        _warm(backend, cache, settings, work)
        db = work / f"{backend.name}-{len(results['runs'])}.db"
        run = run_child_scan(library, backend, settings, db)
        run["variant"] = settings
        results["runs"].append(run)
        progress(f"  {run['photos_per_s']:.1f} photos/s, {run['reused']} reused")

    for name in ("pytorch", "pytorch-batching"):
        for _, settings in [p for p in plans if p[0] == name]:
            with start_pytorch(name, logs) as backend:
                scan_through(backend, settings)
    if repository is not None:
        with start_triton(repository, logs) as triton:
            for name, settings in plans:
                if name in triton:
                    scan_through(triton[name], settings)
    repo = write_stand_in_repository(
        work / "stand_in_repository", delay_ms=config.stand_in_delay_ms
    )
    results["memory"], results["rescan"] = [], None
    with start_triton(repo, logs) as stand_in:
        backend = stand_in["triton-http"]
        backend.env = {"TRITON_MODEL_NAME": MODEL_NAME}
        for size in sorted({*config.memory_sizes, config.rescan_files}):
            small = cache / f"small-library-{size}"
            progress(f"memory: {size:,} small files through the stand-in model")
            build_small_library(small, size)
            db = work / f"small-{size}.db"
            first = run_child_scan(small, backend, config.scan_settings, db)
            first["files"] = size
            if size in config.memory_sizes:
                results["memory"].append(first)
            if size == config.rescan_files:
                progress(f"rescan of {size:,} unchanged files")
                again = run_child_scan(small, backend, config.scan_settings, db)
                again["files"] = size
                results["rescan"] = again
    results["load_after"] = round(os.getloadavg()[0], 2)
    return results
