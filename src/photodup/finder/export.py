"""Groups as JSON, CSV or a terminal table."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from photodup.finder.groups import Group

CSV_COLUMNS = (
    "group_key",
    "kind",
    "role",
    "photo_id",
    "path",
    "size",
    "width",
    "height",
    "format",
    "captured_at",
    "sha256",
    "signals",
    "min_similarity",
    "max_similarity",
    "keeper_reason",
)


def groups_json(groups: Sequence[Group]) -> str:
    total = sum(g.bytes_reclaimable for g in groups)
    payload = {
        "groups": [g.to_dict() for g in groups],
        "count": len(groups),
        "bytes_reclaimable": total,
    }
    return json.dumps(payload, indent=2)


def groups_csv(groups: Sequence[Group]) -> str:
    """One row per photo; the keeper's row has role ``keep``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for g in groups:
        for i, p in enumerate(g.members):
            writer.writerow(
                [
                    g.key,
                    g.kind,
                    "keep" if i == 0 else "duplicate",
                    p.id,
                    p.display_path,
                    p.size,
                    p.width,
                    p.height,
                    p.format,
                    p.captured_at or "",
                    p.sha256,
                    "+".join(g.signals),
                    f"{g.min_similarity:.4f}",
                    f"{g.max_similarity:.4f}",
                    g.keeper_reason,
                ]
            )
    return out.getvalue()


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def print_groups(console: Console, groups: Sequence[Group]) -> None:
    if not groups:
        console.print("no duplicate groups")
        return
    table = Table(title=f"{len(groups)} groups", show_lines=True)
    table.add_column("group", style="cyan", no_wrap=True)
    table.add_column("kind")
    table.add_column("photos (keeper first)", overflow="fold")
    table.add_column("why keep", overflow="fold")
    table.add_column("signals")
    table.add_column("similarity", justify="right")
    table.add_column("saves", justify="right")
    for g in groups:
        names = "\n".join(
            f"{'[green]keep[/green] ' if i == 0 else '     '}{p.display_path} "
            f"({p.width}x{p.height} {p.format})"
            + (
                " [yellow]same file as the keeper (hard link)[/yellow]"
                if p.id in g.same_file_as_keeper
                else ""
            )
            for i, p in enumerate(g.members)
        )
        table.add_row(
            g.key,
            g.kind,
            names,
            g.keeper_reason,
            ", ".join(g.signals),
            f"{g.min_similarity:.3f}-{g.max_similarity:.3f}",
            _mib(g.bytes_reclaimable),
        )
    console.print(table)
    total = sum(g.bytes_reclaimable for g in groups)
    console.print(f"{len(groups)} groups; removing the duplicates would free {_mib(total)}")
