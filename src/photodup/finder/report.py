"""Terminal output of the scan and of ``photodup skipped`` (rich tables)."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.table import Table

from photodup.finder.evaluate import EvalReport
from photodup.finder.scan import ScanSummary
from photodup.finder.settings import FinderSettings
from photodup.finder.store import Skipped, Store


def skipped_by_kind(items: list[Skipped]) -> Counter[str]:
    return Counter(item.kind for item in items)


def print_scan_summary(console: Console, summary: ScanSummary, settings: FinderSettings) -> None:
    with Store.open(summary.library, settings.db_path) as store:
        all_skipped = store.skipped()
        overview = store.overview()
    table = Table(title=f"scan of {summary.library}", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("files seen", str(summary.files_seen))
    table.add_row("unchanged (not read)", str(summary.unchanged))
    table.add_row("embedded now", str(summary.embedded))
    table.add_row("  reused (same content, not recomputed)", str(summary.reused))
    table.add_row("skipped now", str(sum(summary.skipped.values())))
    kinds = skipped_by_kind(all_skipped)
    for kind, n in sorted(kinds.items()):
        table.add_row(f"  skipped in index: {kind}", str(n))
    table.add_row("not images (ignored)", str(summary.ignored))
    table.add_row("removed (file gone)", str(summary.removed))
    table.add_row("photos in index", str(overview["photos"]))
    table.add_row("time", f"{summary.seconds:.1f} s")
    table.add_row("photos/s (embedded)", f"{summary.photos_per_s:.1f}")
    console.print(table)
    if all_skipped:
        console.print("run [bold]photodup skipped[/bold] to list the skipped files and why")


def print_skipped(console: Console, items: list[Skipped]) -> None:
    if not items:
        console.print("no skipped files")
        return
    table = Table(title=f"{len(items)} skipped files")
    table.add_column("kind", style="yellow")
    table.add_column("file", overflow="fold")
    table.add_column("reason", overflow="fold")
    for item in items:
        table.add_row(item.kind, item.display_path, item.reason)
    console.print(table)


def print_eval(console: Console, report: EvalReport, settings: FinderSettings) -> None:
    table = Table(
        title=(
            f"pairwise grouping quality: {report.photos} photos, embeddings from "
            f"{report.model} ({report.pretrained})"
        )
    )
    table.add_column("kind")
    for name in report.scores:
        table.add_column(f"{name}\nP / R / F1", justify="right")
    if report.candidate_recall:
        table.add_column("candidate\nrecall", justify="right")
    kinds = list(next(iter(report.scores.values())))
    for kind in kinds:
        cells = []
        for per_kind in report.scores.values():
            s = per_kind[kind]
            if s.true_pairs == 0:  # a hard negative: only precision means something
                cells.append(f"{s.precision:.2f} / -    / -   ")
            else:
                cells.append(f"{s.precision:.2f} / {s.recall:.2f} / {s.f1:.2f}")
        if report.candidate_recall:
            found = report.candidate_recall.get(kind)
            cells.append(f"{found:.2f}" if found is not None else "")
        table.add_row(kind, *cells)
    mixed = [str(report.mixed_groups.get(name, "")) for name in report.scores]
    table.add_row("groups mixing photos", *mixed, style="bold")
    shots = [
        f"{s.correct_pairs}/{s.true_pairs} ({s.predicted_pairs} listed)"
        for s in (report.similar.get(name) for name in report.scores)
        if s is not None
    ]
    table.add_row("similar shots found", *shots, style="bold")
    console.print(table)
    console.print(
        f"thresholds: pHash <= {settings.phash_distance} bits, cosine >= "
        f"{settings.cosine_threshold}, burst {settings.burst_window_s:.0f} s; verified: "
        f">= {settings.min_inliers} inliers, coverage >= {settings.min_coverage}; candidates: "
        f"pHash <= {settings.candidate_phash_distance}, variants <= "
        f"{settings.candidate_variant_distance}, {settings.candidate_knn} nearest neighbours"
    )
    if report.stats:
        console.print(
            "verified set: "
            + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in report.stats.items())
        )
    if report.pretrained == "none":
        console.print(
            "[yellow]note:[/yellow] pretrained=none means random weights: the embedding "
            "figures say nothing about real CLIP features (see docs/finder.md)"
        )
