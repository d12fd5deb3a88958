"""The Markdown report: every table and the verdict are generated from ``results.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from photodup.bench.charts import write_charts
from photodup.bench.tables import SECTIONS
from photodup.bench.tables import fmt as _f


def _machine(results: dict[str, Any]) -> list[str]:
    m, load = results["machine"], results.get("load_average", {})
    gpu = m["gpu"]
    gpu_text = (
        ", ".join(d["name"] for d in gpu["devices"]) + f" (driver {gpu['driver']})"
        if gpu.get("available")
        else f"none ({gpu.get('reason')})"
    )
    v = m["versions"]
    return [
        f"- **Date**: {results['started_at']} → {results.get('finished_at')} "
        f"({_f(results.get('duration_s'), 0)} s)",
        f"- **CPU**: {m['cpu_model']}, {m['usable_cores']} usable cores "
        f"({m['logical_cores']} logical), {_f(m['memory_gib'])} GiB RAM",
        f"- **GPU**: {gpu_text}",
        f"- **Load average** (1/5/15 min) at start {load.get('start')}, at end {load.get('end')}. "
        "Other processes may share this machine; figures are only comparable within one report.",
        f"- **Versions**: torch {v.get('torch')}, onnxruntime {v.get('onnxruntime')}, "
        f"open_clip {v.get('open_clip_torch')}, tritonclient {v.get('tritonclient')}, "
        f"nvidia-pytriton {v.get('nvidia-pytriton')}, Python {m['python']}",
    ]


def _settings(results: dict[str, Any]) -> list[str]:
    c, p, i = results["config"], results["config"]["profile"], results["inputs"]
    return [
        f"- **Profile** `{p['name']}`: {p['iterations']} sequential single-image requests per "
        f"latency series; {p['batch_iterations']} requests per batch size "
        f"{', '.join(map(str, p['batch_sizes']))}; "
        f"concurrency {', '.join(map(str, p['concurrency_levels']))} with "
        f"max({p['concurrent_requests']}, 4 x level) "
        f"timed requests per level; {p['warmup']} warm-up request(s) per series (one per worker "
        "for concurrency), excluded from every figure and counted as `warmup_requests`.",
        f"- **Backends** {c['backend']}, start-local {c['start_local']}, pretrained "
        f"`{c['pretrained']}` (random weights run exactly the same arithmetic as trained ones).",
        f"- **Inputs**: {i['count']} photos from {i['source']}, mean file "
        f"{_f(i['mean_file_bytes'] / 1e6, 2)} MB; skipped {len(i['skipped'])}.",
    ]


def _verdict(results: dict[str, Any]) -> list[str]:
    comp = results.get("comparisons", {})
    lines = ["## Verdict (generated from the numbers below)", ""]
    if comp.get("busy_machine"):
        lines += [f"**Caution**: {comp['busy_machine']['text']}.", ""]
    lines += [f"- **{item['topic']}**: {item['text']}." for item in comp.get("verdict", [])] or [
        "- Not enough measurements for a comparison."
    ]
    for exp in comp.get("expectations", []):
        measured = exp["measured_triton_over_pytorch"]
        got = "not measured" if measured is None else f"measured {measured:.2f}x ({exp['basis']})"
        lines.append(f"- *Expectation from the seed project*: {exp['expectation']} — {got}.")
    return [*lines, ""]


def render_report(results: dict[str, Any], charts: list[Path]) -> str:
    lines = ["# photodup bench: PyTorch vs Triton vs the raw engines", ""]
    lines += _machine(results) + _settings(results) + [""]
    lines += _verdict(results)
    lines += [f"![{p.stem}]({p.name})" for p in charts] + [""]
    for section in SECTIONS:
        lines += section(results)
    return "\n".join(lines)


def write_report(results: dict[str, Any], folder: Path) -> Path:
    """Write results.json, the charts and report.md into ``folder``; returns the report path."""
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=2)
    # Render what was written, so the report is reproducible from results.json alone.
    results = json.loads(text)
    (folder / "results.json").write_text(text)
    charts = write_charts(results, folder)
    report = folder / "report.md"
    report.write_text(render_report(results, charts))
    return report
