"""``photodup bench-scan``: the whole scan end to end, per backend, against the measured limit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def _ints(text: str, what: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise typer.BadParameter(f"{what} must be integers like 1000,10000, got {text!r}") from None


def bench_scan_command(
    photos: Annotated[int, typer.Option(help="Photos in the generated library.")] = 600,
    backends: Annotated[
        str,
        typer.Option(help="Comma-separated: pytorch, pytorch-batching, triton-http, triton-grpc."),
    ] = "pytorch,pytorch-batching,triton-http,triton-grpc",
    memory_sizes: Annotated[
        str, typer.Option(help="Small-file library sizes for peak memory (e.g. 1000,10000,100000).")
    ] = "1000,10000",
    rescan_files: Annotated[
        int, typer.Option(help="Files in the unchanged-rescan library.")
    ] = 10_000,
    workers: Annotated[
        str, typer.Option(help="Also scan through PyTorch with these worker counts (e.g. 1,2).")
    ] = "",
    batch_sizes: Annotated[
        str, typer.Option(help="Also scan through PyTorch with these batch sizes (e.g. 16).")
    ] = "",
    batch_size: Annotated[int | None, typer.Option(help="Photos per request.")] = None,
    cache_dir: Annotated[Path, typer.Option(help="Generated libraries and the export.")] = Path(
        ".cache/bench-scan"
    ),
    output: Annotated[Path, typer.Option(help="Folder for results.json, report.md, chart.")] = Path(
        "bench/results/scan"
    ),
) -> None:
    """Scan a generated library through each backend; photos/s against the limit, stages, memory."""
    import logging

    from rich.console import Console

    from photodup.bench.scan_bench import BACKENDS, ScanBenchConfig, run_scan_bench
    from photodup.bench.scan_report import write_report

    chosen = tuple(b.strip() for b in backends.split(",") if b.strip())
    unknown = set(chosen) - set(BACKENDS)
    if unknown:
        raise typer.BadParameter(f"unknown backends {sorted(unknown)}; choose from {BACKENDS}")
    console = Console(stderr=True)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = {"batch_size": batch_size} if batch_size else {}
    config = ScanBenchConfig(
        photos=photos,
        backends=chosen,
        memory_sizes=_ints(memory_sizes, "memory sizes"),
        rescan_files=rescan_files,
        cache_dir=cache_dir,
        scan_settings=settings,
        variants=[{"workers": n} for n in _ints(workers, "workers")]
        + [{"batch_size": n} for n in _ints(batch_sizes, "batch sizes")],
    )
    results = run_scan_bench(config, progress=lambda msg: console.print(f"[dim]{msg}[/dim]"))
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.json").write_text(json.dumps(results, indent=2, default=str))
    report = write_report(results, output)
    console.print(f"wrote {output / 'results.json'} and {report}")


def register(app: typer.Typer) -> None:
    app.command("bench-scan")(bench_scan_command)
