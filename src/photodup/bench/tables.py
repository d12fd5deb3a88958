"""The measurement tables of the report, one function per section, from ``results.json``."""

from __future__ import annotations

from typing import Any


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def cold_start(results: dict[str, Any]) -> list[str]:
    rows = []
    for name, t in results.get("targets", {}).items():
        cold = t.get("cold_start", {})
        if cold.get("measured"):
            rows.append(
                [
                    name,
                    cold["spawn_to_ready_s"],
                    cold["spawn_to_first_embedding_s"],
                    cold.get("server_model_load_s"),
                    cold.get("server_model_load_source"),
                ]
            )
        else:
            rows.append([name, None, None, None, cold.get("reason")])
    head = [
        "backend",
        "spawn → ready (s)",
        "spawn → first embedding (s)",
        "model load (s)",
        "source",
    ]
    return ["## Cold start (one sample each)", "", *table(head, rows)]


def single(results: dict[str, Any]) -> list[str]:
    rows = []
    for name, t in results.get("targets", {}).items():
        for path, e in t.get("single", {}).items():
            lat = e["latency"]
            rows.append(
                [
                    name,
                    path,
                    lat["count"],
                    lat["p50_ms"],
                    lat["p95_ms"],
                    lat["p99_ms"],
                    lat["mean_ms"],
                ]
            )
    head = ["backend", "path", "n", "p50 ms", "p95 ms", "p99 ms", "mean ms"]
    return [
        "## Single-image latency (client side)",
        "",
        "`client_path`: the product's path (decode + CLIP preprocessing on the client, binary "
        "float32 tensor request). `tensor_request`: the request alone, tensor already prepared. "
        "`base64_json`: the seed's JSON path (PyTorch decodes on the server).",
        "",
        *table(head, rows),
    ]


def batches(results: dict[str, Any]) -> list[str]:
    ratios = results.get("comparisons", {}).get("ratios_to_raw", {})
    rows = []
    for engine, ref in results.get("reference", {}).items():
        for size, e in (ref.get("batch") or {}).items():
            lat = e["latency"]
            rows.append(
                [
                    f"raw {engine}",
                    size,
                    lat["count"],
                    lat["p50_ms"],
                    lat["p95_ms"],
                    e["images_per_s"],
                    None,
                ]
            )
    for name, t in results.get("targets", {}).items():
        for size, e in t.get("batch", {}).items():
            lat = e["latency"]
            r = ratios.get(name, {}).get("batch", {}).get(size)
            rows.append(
                [
                    name,
                    size,
                    lat["count"],
                    lat["p50_ms"],
                    lat["p95_ms"],
                    e["images_per_s"],
                    fmt(r, 2),
                ]
            )
    head = ["engine / backend", "batch", "n", "p50 ms", "p95 ms", "images/s", "÷ raw engine"]
    return ["## Batch latency and throughput (sequential requests)", "", *table(head, rows)]


def _server_row(server: dict[str, Any]) -> list[Any]:
    s = server.get("statistics") or server.get("metrics") or {}
    return [
        s.get("executions"),
        s.get("inferences"),
        fmt(s.get("avg_batch_size"), 2),
        fmt(s.get("queue_ms_per_request"), 2),
        s.get("compute_infer_ms_per_execution"),
    ]


def concurrency(results: dict[str, Any]) -> list[str]:
    ratios = results.get("comparisons", {}).get("ratios_to_raw", {})
    rows = []
    for name, t in results.get("targets", {}).items():
        for level, e in t.get("concurrency", {}).items():
            r = ratios.get(name, {}).get("concurrency", {}).get(level, {})
            rows.append(
                [
                    name,
                    level,
                    e["requests"],
                    e["errors"],
                    e["images_per_s"],
                    e["requests_per_s"],
                    e["latency"]["p50_ms"],
                    e["latency"]["p95_ms"],
                    fmt(r.get("vs_raw_batch_1"), 2),
                    fmt(r.get("vs_raw_best"), 2),
                    *_server_row(e.get("server", {})),
                ]
            )
    head = [
        "backend",
        "conc.",
        "n",
        "errors",
        "images/s",
        "req/s",
        "p50 ms",
        "p95 ms",
        "÷ raw b1",
        "÷ raw best",
        "executions",
        "inferences",
        "avg batch",
        "queue ms/req",
        "compute ms/exec",
    ]
    return [
        "## Concurrent single-image requests",
        "",
        "Client-side rates and latency on the left; the server's own statistics for the same "
        "timed requests on the right (server-side durations, compared only with each other).",
        "",
        *table(head, rows),
    ]


def server_batches(results: dict[str, Any]) -> list[str]:
    rows = []
    for name, t in results.get("targets", {}).items():
        for size, e in t.get("batch", {}).items():
            rows.append([name, size, *_server_row(e.get("server", {}))])
    head = [
        "backend",
        "batch",
        "executions",
        "inferences",
        "avg batch",
        "queue ms/req",
        "compute ms/exec",
    ]
    return ["## Server-side view of the batch phase (server vs server)", "", *table(head, rows)]


def transport(results: dict[str, Any]) -> list[str]:
    rows = []
    for name, e in results.get("transport", {}).items():
        tp = e["throughput"]
        rows.append(
            [
                name,
                e["batch_size"],
                e["images_counted"],
                fmt(e["bytes_sent_per_image"], 0),
                fmt(e["bytes_received_per_image"], 0),
                tp["requests"],
                tp["images_per_s"],
                tp["latency"]["p50_ms"],
            ]
        )
    head = [
        "path",
        "batch",
        "images counted",
        "bytes/image up",
        "bytes/image down",
        "timed requests",
        "images/s",
        "p50 ms",
    ]
    return [
        "## Transport",
        "",
        "Bytes counted on a loopback TCP relay (headers and framing included); throughput timed "
        "on a direct connection.",
        "",
        *table(head, rows),
    ]


def gpu(results: dict[str, Any]) -> list[str]:
    lines = ["## GPU", ""]
    variants = results.get("gpu_variants", {})
    lines.append(
        f"- FP16 / TensorRT variants: {variants.get('status')} ({variants.get('reason', '')})"
    )
    for name, variant in variants.items():
        if isinstance(variant, dict):
            why = f": {variant['reason']}" if variant.get("reason") else ""
            lines.append(f"  - {name}: {variant.get('status')}{why}")
    samples = [
        e.get("gpu", {})
        for t in results.get("targets", {}).values()
        for e in t.get("concurrency", {}).values()
    ]
    if samples and samples[0].get("available"):
        lines.append(
            "- NVML mean GPU utilisation during the concurrency phases (%): "
            + ", ".join(f"{s['gpu_util_mean_pct']:.0f}" for s in samples)
        )
    elif samples:
        lines.append(f"- NVML utilisation: unavailable ({samples[0].get('reason')})")
    return [*lines, ""]


SECTIONS = (cold_start, single, batches, concurrency, server_batches, transport, gpu)
