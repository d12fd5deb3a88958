"""The server's own view of a phase: snapshots before and after, reported as deltas.

Triton: the statistics extension (``/v2/models/<m>/stats``: queue, compute input/infer/output,
executions vs inferences) and its Prometheus endpoint. PyTorch service: its ``/metrics``.
These are *server-side* durations; the report only ever compares them with other server-side
durations, never with the client's request latency.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

log = logging.getLogger(__name__)

Snapshot = dict[str, Any]

#: Metric types whose difference over a phase is meaningful (gauges are not).
_CUMULATIVE = ("counter", "histogram", "summary")


def fetch_triton_stats(http_url: str, model: str) -> Snapshot:
    response = httpx.get(f"{http_url}/v2/models/{model}/stats", timeout=10.0)
    response.raise_for_status()
    stats: Snapshot = response.json()["model_stats"][0]
    return stats


def _ns(stats: Snapshot, key: str) -> tuple[int, int]:
    entry = stats.get("inference_stats", {}).get(key, {})
    return int(entry.get("count", 0)), int(entry.get("ns", 0))


def triton_delta(before: Snapshot, after: Snapshot) -> dict[str, Any]:
    """What Triton did between two statistics snapshots of one model."""
    out: dict[str, Any] = {}
    requests = _ns(after, "success")[0] - _ns(before, "success")[0]
    out["requests"] = requests
    out["failed_requests"] = _ns(after, "fail")[0] - _ns(before, "fail")[0]
    out["inferences"] = int(after.get("inference_count", 0)) - int(before.get("inference_count", 0))
    out["executions"] = int(after.get("execution_count", 0)) - int(before.get("execution_count", 0))
    out["avg_batch_size"] = out["inferences"] / out["executions"] if out["executions"] else None
    # Triton attributes each request the full duration of the execution it was part of.
    for key in ("success", "queue", "compute_input", "compute_infer", "compute_output"):
        count = _ns(after, key)[0] - _ns(before, key)[0]
        ns = _ns(after, key)[1] - _ns(before, key)[1]
        name = "request" if key == "success" else key
        out[f"{name}_ms_per_request"] = ns / count / 1e6 if count else None
    executions: dict[int, int] = {}
    infer_ns = 0
    for entry in after.get("batch_stats", []):
        size = int(entry["batch_size"])
        prior: Snapshot = next(
            (b for b in before.get("batch_stats", []) if int(b["batch_size"]) == size), {}
        )
        n = int(entry["compute_infer"]["count"]) - int(
            prior.get("compute_infer", {}).get("count", 0)
        )
        ns = int(entry["compute_infer"]["ns"]) - int(prior.get("compute_infer", {}).get("ns", 0))
        if n:
            executions[size] = n
            infer_ns += ns
    total = sum(executions.values())
    out["compute_infer_ms_per_execution"] = infer_ns / total / 1e6 if total else None
    out["executions_by_batch_size"] = {str(k): v for k, v in sorted(executions.items())}
    return out


def fetch_prometheus(url: str) -> Snapshot:
    """Every counter/histogram sample of a Prometheus text endpoint, keyed by name and labels."""
    response = httpx.get(url, timeout=10.0)
    response.raise_for_status()
    samples: Snapshot = {}
    for family in text_string_to_metric_families(response.text):
        if family.type not in _CUMULATIVE:
            continue
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue  # a timestamp, not a count
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def prometheus_delta(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """Changes of counters and histogram series between two snapshots; unchanged ones dropped."""
    out: dict[str, float] = {}
    for key, value in after.items():
        change = float(value) - float(before.get(key, 0.0))
        if change:
            out[key] = change
    return out


def sum_series(delta: dict[str, float], name: str) -> float | None:
    """Total of every label set of one series name (e.g. ``x_sum``) in a delta, or None."""
    # prometheus_client's parser names counter samples "<name>_total" even when the server
    # wrote plain "<name>" (Triton does), so accept both spellings.
    names = {name, f"{name}_total"}
    values = [v for k, v in delta.items() if k.split("{", 1)[0] in names]
    return sum(values) if values else None


def _per(delta: dict[str, float], name: str, scale: float = 1000.0) -> float | None:
    total, count = sum_series(delta, f"{name}_sum"), sum_series(delta, f"{name}_count")
    return total / count * scale if total is not None and count else None


def pytorch_metrics_delta(before: Snapshot, after: Snapshot) -> dict[str, Any]:
    """The PyTorch service's ``/metrics`` over a phase, with Triton-comparable summaries.

    The service records queue and compute time per request the way Triton does (see
    ``photodup.serving.metrics``), so these figures line up with :func:`triton_delta`.
    """
    delta = prometheus_delta(before, after)
    executions = sum_series(delta, "photodup_execution_duration_seconds_count")
    images = sum_series(delta, "photodup_batch_size_sum")
    requests = sum_series(delta, "photodup_queue_duration_seconds_count")
    return {
        "requests": int(requests) if requests is not None else 0,
        "inferences": int(images) if images is not None else 0,
        "executions": int(executions) if executions is not None else 0,
        "avg_batch_size": images / executions if images and executions else None,
        "queue_ms_per_request": _per(delta, "photodup_queue_duration_seconds"),
        "compute_infer_ms_per_request": _per(delta, "photodup_compute_duration_seconds"),
        "compute_infer_ms_per_execution": _per(delta, "photodup_execution_duration_seconds"),
        "request_ms_per_request": _per(delta, "photodup_request_duration_seconds"),
        "preprocess_ms_per_request": _per(delta, "photodup_preprocess_duration_seconds"),
        # Of the histograms' buckets only the batch-size one is kept: it is the distribution
        # the report needs; the others would multiply the size of results.json.
        "series": {
            k: v
            for k, v in delta.items()
            if "_bucket" not in k or k.startswith("photodup_batch_size_bucket")
        },
    }


def triton_metrics_delta(before: Snapshot, after: Snapshot) -> dict[str, Any]:
    """Triton's Prometheus counters over a phase (a cross-check of the statistics API)."""
    delta = prometheus_delta(before, after)
    return {
        "requests": sum_series(delta, "nv_inference_request_success"),
        "inferences": sum_series(delta, "nv_inference_count"),
        "executions": sum_series(delta, "nv_inference_exec_count"),
        "series": delta,
    }


class ServerStats:
    """Takes a snapshot from each of a target's server-side sources; failures become notes."""

    def __init__(self, sources: dict[str, tuple[Callable[[], Snapshot], Callable[..., Any]]]):
        # name -> (fetch, delta)
        self.sources = sources

    def snapshot(self) -> dict[str, Snapshot | None]:
        snaps: dict[str, Snapshot | None] = {}
        for name, (fetch, _) in self.sources.items():
            try:
                snaps[name] = fetch()
            except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
                log.warning("server statistics %s unavailable: %s", name, exc)
                snaps[name] = None
        return snaps

    def delta(
        self, before: dict[str, Snapshot | None], after: dict[str, Snapshot | None]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, (_, diff) in self.sources.items():
            b, a = before.get(name), after.get(name)
            out[name] = diff(b, a) if b is not None and a is not None else {"unavailable": True}
        return out
