"""Bring each backend up (or connect to a running one) and measure it, one at a time.

With ``--start-local`` the bench spawns the backend itself on free loopback ports, records its
cold start, measures it and stops it before the next one starts, so two servers never compete
for the same cores. Without it, the URLs given are measured as they are.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from photodup.bench.config import BenchConfig
from photodup.bench.inputs import BenchInputs
from photodup.bench.local import (
    first_embedding_seconds,
    pytorch_process,
    triton_model_load_seconds,
)
from photodup.bench.served import Target, measure_target
from photodup.bench.server_stats import (
    ServerStats,
    fetch_prometheus,
    fetch_triton_stats,
    pytorch_metrics_delta,
    triton_delta,
    triton_metrics_delta,
)
from photodup.bench.transport import measure_path, paths_for
from photodup.client import InferenceClient
from photodup.contract import TRITON_MODEL_NAME
from photodup.processes import free_port
from photodup.settings import ClientSettings, get_client_settings

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
STARTUP_TIMEOUT_S = 300.0


def pytorch_stats(url: str) -> ServerStats:
    fetch = functools.partial(fetch_prometheus, f"{url}/metrics")
    return ServerStats({"metrics": (fetch, pytorch_metrics_delta)})


def triton_stats(http_url: str, metrics_url: str | None) -> ServerStats:
    sources: dict[str, Any] = {
        "statistics": (
            functools.partial(fetch_triton_stats, http_url, TRITON_MODEL_NAME),
            triton_delta,
        )
    }
    if metrics_url:
        sources["metrics"] = (
            functools.partial(fetch_prometheus, metrics_url),
            triton_metrics_delta,
        )
    return ServerStats(sources)


def _first(started_at: float, client: InferenceClient, one: np.ndarray, name: str) -> float:
    return first_embedding_seconds(
        started_at, lambda: client.embed_tensors(one), STARTUP_TIMEOUT_S, name
    )


@contextmanager
def local_pytorch(
    config: BenchConfig, log_dir: Path, batching: bool, one: np.ndarray
) -> Iterator[tuple[Target, dict[str, Any], str]]:
    proc, url = pytorch_process(log_dir, pretrained=config.pretrained, batching=batching)
    with proc, InferenceClient(url, "pytorch") as client:
        cold = {
            "measured": True,
            "spawn_to_ready_s": proc.wait_http_ok(f"{url}/ready", STARTUP_TIMEOUT_S, poll_s=0.1),
            "spawn_to_first_embedding_s": _first(proc.started_at, client, one, proc.name),
            "log": str(proc.log_path),
        }
        info = httpx.get(f"{url}/info", timeout=10).json()
        cold["server_model_load_s"] = info.get("load_seconds")
        cold["server_model_load_source"] = "GET /info load_seconds"
        yield Target(proc.name, "pytorch", "pytorch", client, pytorch_stats(url)), cold, url


@contextmanager
def local_triton(
    repository: Path, log_dir: Path, one: np.ndarray, name: str = "triton"
) -> Iterator[tuple[Target, dict[str, Any], str, str]]:
    from photodup.triton import LocalTriton, TritonPorts

    log_dir.mkdir(parents=True, exist_ok=True)
    ports = TritonPorts(http=free_port(), grpc=free_port(), metrics=free_port())
    server = LocalTriton(repository, ports, log_path=log_dir / f"{name}.log")
    started_at = time.perf_counter()
    client = InferenceClient(
        server.http_url, "triton", protocol="http", settings=_fp32_client_settings()
    )
    with server, client:
        server.wait_ready(STARTUP_TIMEOUT_S)
        ready_s = time.perf_counter() - started_at
        cold: dict[str, Any] = {
            "measured": True,
            "spawn_to_ready_s": ready_s,
            "spawn_to_first_embedding_s": _first(started_at, client, one, name),
            "log": str(server.log_path),
            "server_model_load_s": triton_model_load_seconds(
                server.log_path.read_text(errors="replace"), TRITON_MODEL_NAME
            ),
            "server_model_load_source": "Triton log: 'loading' -> 'successfully loaded'",
        }
        stats = triton_stats(server.http_url, server.metrics_url)
        target = Target(name, "triton", "onnxruntime", client, stats)
        yield target, cold, server.http_url, server.grpc_url


def _fp32_client_settings() -> ClientSettings:
    """Like for like: every engine is compared on the seed's fp32 model, whose statistics the
    bench reads; the uint8 model's gain is measured by ``bench/transport_check.py``."""
    return get_client_settings().model_copy(update={"triton_uint8": False})


def check_reachable(config: BenchConfig) -> None:
    """Fail before any slow work when a server the bench should measure is not ready."""
    if config.start_local:
        return
    wanted = []
    if "pytorch" in config.backends:
        wanted.append(("pytorch", config.url_pytorch or "http://127.0.0.1:8002"))
    if "triton" in config.backends:
        wanted.append(("triton", config.url_triton or "http://127.0.0.1:8003"))
    for backend, url in wanted:
        with InferenceClient(url, backend, protocol="http") as client:
            if not client.ready():
                raise RuntimeError(
                    f"{backend} backend at {url} is not ready (not running, or still loading). "
                    f"Start it, pass --url-{backend} with the right address, or let the bench "
                    "start it with --start-local"
                )


def measure_all(
    config: BenchConfig,
    inputs: BenchInputs,
    repository: Path | None,
    log_dir: Path,
    progress: Progress,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Returns (targets by name, transport paths by name)."""
    targets: dict[str, Any] = {}
    transport: dict[str, Any] = {}
    one = inputs.tensor_batch(0, 1)
    profile = config.profile

    def measure(target: Target, cold: dict[str, Any]) -> None:
        result = measure_target(target, inputs, profile, progress)
        result["cold_start"] = cold
        targets[target.name] = result

    def paths(backend: str, url: str, grpc_url: str | None) -> None:
        for path in paths_for(backend, url, grpc_url):
            transport[path.name] = measure_path(path, inputs, profile, progress)

    not_started = {
        "measured": False,
        "reason": "the bench did not start this server (no --start-local)",
    }
    if "pytorch" in config.backends:
        if config.start_local:
            for batching in (False, True):
                progress(f"starting PyTorch service (batching {'on' if batching else 'off'})")
                with local_pytorch(config, log_dir, batching, one) as (target, cold, url):
                    measure(target, cold)
                    if not batching:
                        paths("pytorch", url, None)
        else:
            url = config.url_pytorch or "http://127.0.0.1:8002"
            with InferenceClient(url, "pytorch") as client:
                batching = bool(client.server_info().get("batching"))
                name = "pytorch-batching" if batching else "pytorch"
                measure(Target(name, "pytorch", "pytorch", client, pytorch_stats(url)), not_started)
            paths("pytorch", url, None)
    if "triton" in config.backends:
        if config.start_local:
            if repository is None:
                raise RuntimeError("no Triton model repository to start Triton with")
            progress("starting Triton")
            with local_triton(repository, log_dir, one) as (target, cold, http_url, grpc_url):
                measure(target, cold)
                paths("triton", http_url, grpc_url)
        else:
            url = config.url_triton or "http://127.0.0.1:8003"
            stats = triton_stats(url, config.triton_metrics_url)
            settings = _fp32_client_settings()
            with InferenceClient(url, "triton", protocol="http", settings=settings) as client:
                measure(Target("triton", "triton", "onnxruntime", client, stats), not_started)
            paths("triton", url, config.triton_grpc_url)
    return targets, transport
