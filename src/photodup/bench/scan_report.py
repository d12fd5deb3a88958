"""report.md and chart.png of ``photodup bench-scan`` from its results.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from photodup.bench.scan_limit import limit

WORKER_STAGES = ("read_hash", "decode", "metadata", "preprocess", "phash")
MAIN_STAGES = ("walk", "plan", "batch", "request", "commit", "wait")


def run_figures(run: dict[str, Any], lim: dict[str, Any]) -> dict[str, Any]:
    """Derived figures of one scan: rate against its limit, CPU and memory per process."""
    engine = "pytorch_engine" if run["backend"].startswith("pytorch") else "onnxruntime_engine"
    photos = max(run["embedded"], 1)
    share = run["computed"] / photos
    model = lim.get(engine, lim["pytorch_engine"])["cpu_s_per_image"]
    bound = limit(lim["client"]["cpu_s_per_photo"], model, share)
    workers_rss = [p["peak_rss_mib"] for p in run["workers"]]
    spent = (run["stages_s"].get("cpu", 0.0) + run["main_cpu_s"] + run["backend_cpu_s"]) / photos
    return {
        "cpu_s_per_photo_spent": spent,
        "cpu_efficiency": bound["cpu_s_per_photo"] / spent if spent else 0.0,
        "core_share": spent * photos / max(run["seconds"], 1e-9) / bound["cores"],
        "photos_per_s": run["photos_per_s"],
        "limit_photos_per_s": bound["photos_per_s"],
        "achieved_over_limit": run["photos_per_s"] / bound["photos_per_s"],
        "worker_cpu_s_per_photo": run["stages_s"].get("cpu", 0.0) / photos,
        "main_cpu_s_per_photo": run["main_cpu_s"] / photos,
        "backend_cpu_s_per_photo": run["backend_cpu_s"] / photos,
        "main_peak_rss_mib": run["main_peak_rss_mib"],
        "worker_peak_rss_mib": max(workers_rss, default=0.0),
        "backend_peak_rss_mib": sum(p["peak_rss_mib"] for p in run["backend_processes"]),
        "engine": engine,
    }


def _label(run: dict[str, Any]) -> str:
    extra = ", ".join(f"{k}={v}" for k, v in sorted(run.get("variant", {}).items()))
    return f"{run['backend']}" + (f" ({extra})" if extra else "")


def _chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs, lim = results["runs"], results["limit"]
    fig, (rate_ax, stage_ax, mem_ax) = plt.subplots(1, 3, figsize=(17, 5.2))
    labels = [_label(r) for r in runs]
    figures = [run_figures(r, lim) for r in runs]
    xs = range(len(runs))
    rate_ax.bar(xs, [f["photos_per_s"] for f in figures], color="#4c72b0", label="achieved")
    rate_ax.scatter(xs, [f["limit_photos_per_s"] for f in figures], color="#c44e52", marker="_",
                    s=900, linewidths=3, label="limit (same run)", zorder=3)  # fmt: skip
    rate_ax.set_xticks(list(xs), labels, rotation=25, ha="right")
    rate_ax.set_ylabel("photos/s")
    rate_ax.set_title("scan rate against the measured limit")
    rate_ax.legend()
    # CPU, not wall: on shared cores the wall clock mostly shows the other programs.
    bottom = [0.0] * len(runs)
    parts = {s: [1000 * r["stages_s"].get(s, 0.0) / max(r["embedded"], 1) for r in runs]
             for s in WORKER_STAGES}  # fmt: skip
    parts["scan main process"] = [1000 * f["main_cpu_s_per_photo"] for f in figures]
    parts["backend"] = [1000 * f["backend_cpu_s_per_photo"] for f in figures]
    for name, values in parts.items():
        stage_ax.bar(xs, values, bottom=bottom, label=name)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    needed = [1000 * f["cpu_s_per_photo_spent"] * f["cpu_efficiency"] for f in figures]
    stage_ax.scatter(xs, needed, color="black", marker="_", s=900, linewidths=2,
                     label="limit's CPU per photo", zorder=3)  # fmt: skip
    stage_ax.set_xticks(list(xs), labels, rotation=25, ha="right")
    stage_ax.set_ylabel("CPU ms per photo")
    stage_ax.set_title("where the CPU goes (all processes)")
    stage_ax.legend(fontsize=8)
    memory = results.get("memory") or []
    if memory:
        files = [m["files"] for m in memory]
        mem_ax.plot(files, [m["main_peak_rss_mib"] for m in memory], "o-", label="scan process")
        worker = [max((p["peak_rss_mib"] for p in m["workers"]), default=0) for m in memory]
        mem_ax.plot(files, worker, "s-", label="largest other process of the scan")
        mem_ax.set_xscale("log")
        mem_ax.set_ylim(bottom=0)
        mem_ax.set_xlabel("files in the library")
        mem_ax.set_ylabel("peak RSS (MiB)")
        mem_ax.set_title("scan memory against library size")
        mem_ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def render(results: dict[str, Any]) -> str:
    lim, runs, lib = results["limit"], results["runs"], results["library"]
    machine = results["machine"]
    client = lim["client"]
    out = [
        "# Scan benchmark (`photodup bench-scan`)",
        "",
        f"Machine: {machine.get('cpu_model')}, {machine.get('logical_cores')} cores; load "
        f"average (1 min) {results.get('load_before')} before, {results.get('load_after')} "
        "after: other work shared the cores during the run. Library: "
        f"{lib['photos']} photos "
        f"({lib['full_12mp']} 12 MP JPEGs with EXIF, {lib['phone']} phone-sized 1600x1200, "
        f"{lib['copies']} exact copies in a backup folder). Weights: pretrained=none (same "
        "compute as real weights).",
        "",
        "## Limit, measured in this run",
        "",
        f"- Client work on one core (read, SHA-256, decode, metadata, preprocess, pHash; copies "
        f"only hashed): **{1000 * client['cpu_s_per_photo']:.1f} ms CPU per photo**.",
    ]
    for key, name in (("pytorch_engine", "PyTorch"), ("onnxruntime_engine", "ONNX Runtime")):
        if key in lim:
            e = lim[key]
            out.append(
                f"- Raw {name} engine at batch {e['batch']}: **{1000 * e['cpu_s_per_image']:.1f} "
                f"ms CPU per image** ({e['images_per_s']:.1f} images/s wall)."
            )
    out += [
        "- Limit photos/s = cores / (client CPU-s per photo + model CPU-s per image x share of "
        "photos whose content is new).",
        "",
        "## Scans",
        "",
    ]
    rows = []
    for run in runs:
        f = run_figures(run, lim)
        rows.append([
            _label(run), f"{run['embedded']}", f"{run['reused']}", f"{run['seconds']:.1f}",
            f"{f['photos_per_s']:.2f}", f"{f['limit_photos_per_s']:.2f}",
            f"**{f['achieved_over_limit']:.2f}**", f"{f['core_share']:.2f}",
            f"**{f['cpu_efficiency']:.2f}**",
            f"{1000 * f['worker_cpu_s_per_photo']:.0f} / {1000 * f['main_cpu_s_per_photo']:.0f}"
            f" / {1000 * f['backend_cpu_s_per_photo']:.0f}",
            f"{f['main_peak_rss_mib']:.0f} / {f['worker_peak_rss_mib']:.0f} / "
            f"{f['backend_peak_rss_mib']:.0f}",
            f"{run['peak_tensors']}/{run['tensor_window']}",
        ])  # fmt: skip
    out += _table(
        ["backend", "photos", "reused", "s", "photos/s", "limit", "achieved/limit",
         "cores' share it got", "CPU efficiency",
         "CPU ms/photo workers/main/backend", "peak RSS MiB main/worker/backend",
         "decoded alive/window"],
        rows,
    )  # fmt: skip
    out += [
        "",
        "achieved/limit divides wall-clock rates and assumes the cores are the scan's alone. "
        "*cores' share it got* is the CPU the scan and its backend used over the scan's wall "
        "time and the cores; below 1 means other programs had the rest. *CPU efficiency* is "
        "the limit's CPU per photo over the CPU the scan, its workers and its backend really "
        "spent per photo: the share of the pipeline's CPU that went into necessary work, "
        "whatever else ran on the machine. On an idle machine achieved/limit tends to it.",
    ]
    out += [
        "",
        "Stage times per photo in ms (workers: CPU, summed over workers; main process: wall; "
        "request is summed over the requests in flight):",
        "",
    ]
    stage_rows = []
    for run in runs:
        n = max(run["embedded"], 1)
        stage_rows.append(
            [_label(run)]
            + [
                f"{1000 * run['stages_s'].get(s, 0.0) / n:.1f}"
                for s in (*WORKER_STAGES, *MAIN_STAGES)
            ]
        )
    out += _table(["backend (ms/photo)", *WORKER_STAGES, *MAIN_STAGES], stage_rows)
    memory = results.get("memory") or []
    if memory:
        out += ["", "## Memory against library size (stand-in model, small distinct JPEGs)", ""]
        # Figures joined from a separate run say so (bench/README.md, results/scan/).
        if note := (results.get("notes") or {}).get("memory"):
            out += [note, ""]
        out += _table(
            ["files", "scan s", "photos/s", "scan process peak RSS MiB",
             "largest worker peak RSS MiB", "decoded alive/window"],
            [[f"{m['files']:,}", f"{m['seconds']:.1f}", f"{m['photos_per_s']:.0f}",
              f"{m['main_peak_rss_mib']:.0f}",
              f"{max((p['peak_rss_mib'] for p in m['workers']), default=0):.0f}",
              f"{m['peak_tensors']}/{m['tensor_window']}"] for m in memory],
        )  # fmt: skip
    decode = results.get("decode_options") or []
    if decode:
        out += ["", "## Reduced-size decode, one 12 MP photo (CPU ms, one core)", ""]
        out += _table(
            ["format", "full decode", "full preprocess", "reduced decode", "reduced preprocess",
             "decoded at", "speed-up", "model input mean abs change"],
            [[d["format"], f"{d['full_decode_ms']:.0f}", f"{d['full_preprocess_ms']:.0f}",
              f"{d['reduced_decode_ms']:.0f}", f"{d['reduced_preprocess_ms']:.0f}",
              "x".join(map(str, d["reduced_size"])), f"{d['speedup']:.1f}x",
              f"{d['input_mean_abs_diff']:.4f}"] for d in decode],
        )  # fmt: skip
        out += [
            "",
            "JPEG: draft mode (DCT scaling); the others: `Image.reduce` by a whole factor after "
            "decoding. Both stop at 448 px on the shorter side; the embedding keeps cosine >= "
            "0.999 (tests/imaging/test_draft.py, test_reduce.py).",
        ]
    rescan = results.get("rescan")
    if rescan:
        out += [
            "",
            f"## Rescan of {rescan['files']:,} unchanged files",
            "",
            f"**{rescan['seconds']:.2f} s** (goal < 5 s): {rescan['unchanged']:,} unchanged, "
            f"{rescan['embedded']} embedded; walk {rescan['stages_s'].get('walk', 0):.2f} s, "
            f"index comparison {rescan['stages_s'].get('plan', 0):.2f} s; the scan process "
            f"peaked at {rescan['main_peak_rss_mib']:.0f} MiB.",
        ]
        if note := (results.get("notes") or {}).get("rescan"):
            out += ["", note]
    out += ["", "![scan benchmark](chart.png)", ""]
    return "\n".join(out)


def write_report(results: dict[str, Any], folder: Path) -> Path:
    _chart(results, folder / "chart.png")
    path = folder / "report.md"
    path.write_text(render(results))
    return path
