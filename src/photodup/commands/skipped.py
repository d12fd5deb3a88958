"""``photodup skipped PATH``: files the scan could not use, and why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def skipped(
    library: Annotated[Path, typer.Argument(help="The scanned library.")],
    db: Annotated[
        Path | None, typer.Option(help="Index file (default <library>/.photodup/index.db).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List skipped files (empty, truncated, not an image, too large, unreadable, corrupt)."""
    from rich.console import Console

    from photodup.finder.report import print_skipped
    from photodup.finder.settings import get_finder_settings
    from photodup.finder.store import Store

    settings = get_finder_settings(db_path=db)
    with Store.open(library, settings.db_path) as store:
        items = store.skipped()
    if as_json:
        rows = [
            {"path": i.display_path, "kind": i.kind, "reason": i.reason, "size": i.size}
            for i in items
        ]
        typer.echo(json.dumps(rows, indent=2))
    else:
        print_skipped(Console(width=200), items)


def register(app: typer.Typer) -> None:
    app.command("skipped")(skipped)
