"""Measure one running backend through the product's client: latency, batches, concurrency.

Every phase is wrapped in a server-statistics snapshot pair and a GPU sampler, so each
client-side figure sits beside the server's own account of the same requests.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from photodup.bench.config import Profile
from photodup.bench.gpu_sampler import GpuSampler
from photodup.bench.inputs import BenchInputs
from photodup.bench.server_stats import ServerStats
from photodup.bench.timing import Call, RunFailures, run_concurrent, run_sequential
from photodup.client import InferenceClient

Progress = Callable[[str], None]


@dataclass
class Target:
    """A running backend as the bench sees it."""

    name: str  # pytorch, pytorch-batching, triton
    backend: str  # pytorch | triton
    engine: str  # the raw engine it runs: pytorch | onnxruntime
    client: InferenceClient
    stats: ServerStats


@contextmanager
def observed(target: Target, record: dict[str, Any]) -> Iterator[Callable[[], None]]:
    """Attach the server's deltas and the GPU samples of the enclosed phase to ``record``.

    Yields ``mark``: call it after the warm-up so the server's figures cover exactly the
    timed requests (without a call the snapshot is taken on entry).
    """
    before = [target.stats.snapshot()]

    def mark() -> None:
        before[0] = target.stats.snapshot()

    with GpuSampler() as gpu:
        yield mark
    record["server"] = target.stats.delta(before[0], target.stats.snapshot())
    record["gpu"] = gpu.summary()


def _record(summary_and_failures: tuple[Any, RunFailures]) -> dict[str, Any]:
    summary, failures = summary_and_failures
    out: dict[str, Any] = summary.as_dict()
    if failures.messages:
        out["error_messages"] = failures.messages
    return out


def _checked(expected: int, got: int, what: str) -> int:
    if got != expected:
        raise RuntimeError(f"{what}: {got} embeddings for {expected} images")
    return got


def single_image_calls(target: Target, inputs: BenchInputs) -> dict[str, Call]:
    """The single-image paths: the product's (decode + preprocess + binary tensor), the
    tensor request alone, and, for PyTorch, the seed's base64 JSON path."""
    client = target.client
    n = len(inputs.names)

    def product(i: int) -> int:
        result = client.embed_images([inputs.files[i % n]], [inputs.names[i % n]])
        if result.errors:
            raise RuntimeError(f"{result.errors[0].name}: {result.errors[0].reason}")
        return _checked(1, len(result.ok), "embed_images")

    def tensor(i: int) -> int:
        return _checked(
            1, client.embed_tensors(inputs.tensor_batch(i, 1)).shape[0], "embed_tensors"
        )

    calls: dict[str, Call] = {"client_path": product, "tensor_request": tensor}
    if target.backend == "pytorch":
        encoded = [base64.b64encode(f).decode("ascii") for f in inputs.files]

        def b64(i: int) -> int:
            return _checked(1, len(client.embed_base64_images([encoded[i % n]])), "base64")

        calls["base64_json"] = b64
    return calls


def measure_target(
    target: Target, inputs: BenchInputs, profile: Profile, progress: Progress
) -> dict[str, Any]:
    out: dict[str, Any] = {"name": target.name, "backend": target.backend, "engine": target.engine}
    out["server_info"] = target.client.server_info()
    single: dict[str, Any] = {}
    for path, call in single_image_calls(target, inputs).items():
        progress(f"{target.name}: single-image latency, {path}")
        record: dict[str, Any] = {}
        with observed(target, record) as mark:
            run = run_sequential(
                call, requests=profile.iterations, warmup=profile.warmup, after_warmup=mark
            )
        single[path] = {**_record(run), **record}
    out["single"] = single

    batches: dict[str, Any] = {}
    for size in profile.batch_sizes:
        progress(f"{target.name}: batch {size}")

        def batch_call(i: int, size: int = size) -> int:
            got = target.client.embed_tensors(inputs.tensor_batch(i * size, size)).shape[0]
            return _checked(size, got, f"batch of {size}")

        record = {}
        with observed(target, record) as mark:
            run = run_sequential(
                batch_call,
                requests=profile.batch_iterations,
                warmup=profile.warmup,
                batch_size=size,
                after_warmup=mark,
            )
        batches[str(size)] = {**_record(run), **record}
    out["batch"] = batches

    levels: dict[str, Any] = {}
    tensor_call = single_image_calls(target, inputs)["tensor_request"]
    for level in profile.concurrency_levels:
        progress(f"{target.name}: concurrency {level}")
        record = {}
        requests = max(profile.concurrent_requests, 4 * level)
        with observed(target, record) as mark:
            run = run_concurrent(
                tensor_call, concurrency=level, requests=requests, warmup=level, after_warmup=mark
            )
        levels[str(level)] = {**_record(run), **record}
    out["concurrency"] = levels
    return out
