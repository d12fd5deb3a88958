"""``photodup bench-grouping``: seconds and peak memory to group synthetic libraries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def bench_grouping_command(
    sizes: Annotated[str, typer.Option(help="Comma-separated library sizes.")] = "10000,100000",
    output: Annotated[Path | None, typer.Option(help="Also write the results as JSON.")] = None,
    verified: Annotated[
        str, typer.Option(help="Sizes for the verified run on a real index ('' to skip).")
    ] = "10000",
) -> None:
    """Group synthetic 512-d embeddings with planted duplicate clusters; print time and memory."""
    from dataclasses import asdict

    from rich.console import Console
    from rich.table import Table

    from photodup.finder.bench_grouping import bench_grouping
    from photodup.finder.settings import get_finder_settings

    try:
        counts = [int(x) for x in sizes.split(",") if x.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"sizes must be integers like 10000,100000, got {sizes!r}"
        ) from None
    settings = get_finder_settings()
    results = bench_grouping(counts, settings)
    table = Table(title="grouping benchmark (all signals, synthetic library)")
    columns = ("photos", "planted clusters", "groups found", "pair precision", "pair recall")
    for col in (*columns, "index", "seconds", "peak RSS"):
        table.add_column(col, justify="right")
    for r in results:
        table.add_row(
            f"{r.photos:,}", f"{r.true_clusters:,}", f"{r.groups:,}", f"{r.pair_precision:.4f}",
            f"{r.pair_recall:.4f}", r.index, f"{r.seconds:.2f}", f"{r.peak_rss_mib:,.0f} MiB",
        )  # fmt: skip
    Console(width=130).print(table)
    from photodup.finder.verify.bench import run_verified

    checked = run_verified([int(x) for x in verified.split(",") if x.strip()], settings)
    if checked:
        table = Table(title="verified grouping on a real index (features, cache), `groups` twice")
        cols = ("photos", "candidate pairs", "groups", "pair precision", "pair recall")
        for col in (*cols, "first run", "repeat", "index per photo", "of which verify"):
            table.add_column(col, justify="right")
        for v in checked:
            table.add_row(
                f"{v.photos:,}", f"{v.candidate_pairs:,}", f"{v.groups:,}",
                f"{v.pair_precision:.4f}", f"{v.pair_recall:.4f}", f"{v.first_s:.1f} s",
                f"{v.repeat_s:.1f} s", f"{v.index_bytes_per_photo / 1024:.1f} KB",
                f"{v.growth_bytes_per_photo / 1024:.1f} KB",
            )  # fmt: skip
        Console(width=130).print(table)
    if output is not None:
        data = {"grouping": [asdict(r) for r in results], "verified": [asdict(v) for v in checked]}
        output.write_text(json.dumps(data, indent=2))


def register(app: typer.Typer) -> None:
    app.command("bench-grouping")(bench_grouping_command)
