"""PNG charts of a results structure (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

_RAW_LABELS = {"pytorch": "raw PyTorch", "onnxruntime": "raw ONNX Runtime"}


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def latency_chart(results: dict[str, Any], path: Path) -> Path | None:
    rows = []
    for name, target in results.get("targets", {}).items():
        for series, entry in target.get("single", {}).items():
            rows.append((f"{name}\n{series}", entry["latency"]))
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(rows)), 4))
    width = 0.27
    for k, pct in enumerate(("p50_ms", "p95_ms", "p99_ms")):
        xs = [i + (k - 1) * width for i in range(len(rows))]
        ax.bar(xs, [lat[pct] for _, lat in rows], width, label=pct.removesuffix("_ms"))
    ax.set_xticks(range(len(rows)), [label for label, _ in rows], fontsize=7)
    ax.set_ylabel("ms per request (client side)")
    n = rows[0][1]["count"]
    ax.set_title(f"Single-image latency ({n} sequential requests per series)")
    ax.legend()
    return _save(fig, path)


def throughput_chart(results: dict[str, Any], path: Path) -> Path | None:
    targets = results.get("targets", {})
    if not any(t.get("concurrency") for t in targets.values()):
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, target in targets.items():
        levels = sorted(target.get("concurrency", {}), key=int)
        ax.plot(
            [int(lv) for lv in levels],
            [target["concurrency"][lv]["images_per_s"] for lv in levels],
            marker="o",
            label=name,
        )
    # The two raw engines get distinct grey dash patterns so neither reads as a backend.
    for (engine, label), dashes in zip(_RAW_LABELS.items(), ("--", ":"), strict=False):
        batch = results.get("reference", {}).get(engine, {}).get("batch", {})
        if "1" in batch:
            ax.axhline(
                batch["1"]["images_per_s"],
                color="dimgrey",
                linestyle=dashes,
                linewidth=1.2,
                label=f"{label}, batch 1",
            )
    ax.set_xscale("log", base=2)
    ax.set_xlabel("concurrent single-image requests")
    ax.set_ylabel("images/s (client side)")
    ax.set_title("Throughput vs concurrency")
    ax.legend(fontsize=8)
    return _save(fig, path)


def batch_chart(results: dict[str, Any], path: Path) -> Path | None:
    series: list[tuple[str, dict[str, Any]]] = [
        (name, t.get("batch", {})) for name, t in results.get("targets", {}).items()
    ]
    for engine, label in _RAW_LABELS.items():
        batch = results.get("reference", {}).get(engine, {}).get("batch")
        if batch:
            series.append((label, batch))
    if not any(batch for _, batch in series):
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, batch in series:
        sizes = sorted(batch, key=int)
        p50 = [batch[s]["latency"]["p50_ms"] for s in sizes]
        p95 = [batch[s]["latency"]["p95_ms"] for s in sizes]
        line = ax.plot([int(s) for s in sizes], p50, marker="o", label=f"{label} p50")
        ax.plot([int(s) for s in sizes], p95, linestyle=":", color=line[0].get_color())
    ax.set_xscale("log", base=2)
    ax.set_xlabel("images per request (batch size)")
    ax.set_ylabel("ms per request (dotted: p95)")
    ax.set_title("Batch latency vs batch size")
    ax.legend(fontsize=8)
    return _save(fig, path)


def ratio_chart(results: dict[str, Any], path: Path) -> Path | None:
    ratios = results.get("comparisons", {}).get("ratios_to_raw", {})
    if not ratios:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for name, entry in ratios.items():
        sizes = sorted((s for s, v in entry["batch"].items() if v is not None), key=int)
        left.plot(
            [int(s) for s in sizes], [entry["batch"][s] for s in sizes], marker="o", label=name
        )
        levels = sorted(
            (lv for lv, v in entry["concurrency"].items() if v["vs_raw_best"] is not None), key=int
        )
        right.plot(
            [int(lv) for lv in levels],
            [entry["concurrency"][lv]["vs_raw_best"] for lv in levels],
            marker="o",
            label=f"{name} (raw best: batch {entry['raw_best_batch_size']})",
        )
    for ax in (left, right):
        ax.axhline(1.0, color="grey", linewidth=1)
        ax.set_xscale("log", base=2)
        ax.legend(fontsize=8)
    left.set_xlabel("batch size")
    left.set_ylabel("served images/s ÷ raw engine images/s")
    left.set_title("Batches: served ÷ raw at the same batch size")
    right.set_xlabel("concurrent single-image requests")
    right.set_title("Concurrency: served ÷ raw at its best batch size")
    return _save(fig, path)


def write_charts(results: dict[str, Any], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    made = [
        latency_chart(results, folder / "latency_percentiles.png"),
        throughput_chart(results, folder / "throughput_vs_concurrency.png"),
        batch_chart(results, folder / "batch_latency.png"),
        ratio_chart(results, folder / "ratio_to_raw.png"),
    ]
    return [p for p in made if p is not None]
