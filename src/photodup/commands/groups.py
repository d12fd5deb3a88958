"""``photodup groups PATH``: near-duplicate groups of a scanned library."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

_EMB_HELP = "Embedding signal: auto (off for random weights), on, off (PHOTODUP_USE_EMBEDDINGS)."


def groups(
    library: Annotated[Path, typer.Argument(help="The scanned library.")],
    db: Annotated[
        Path | None, typer.Option(help="Index file (default <library>/.photodup/index.db).")
    ] = None,
    cosine_threshold: Annotated[
        float | None, typer.Option(help="Min cosine similarity (PHOTODUP_COSINE_THRESHOLD).")
    ] = None,
    phash_distance: Annotated[
        int | None, typer.Option(help="Max pHash distance in bits (PHOTODUP_PHASH_DISTANCE).")
    ] = None,
    embeddings: Annotated[str | None, typer.Option(help=_EMB_HELP)] = None,
    verify: Annotated[
        bool | None,
        typer.Option("--verify/--no-verify", help="Geometric verification (PHOTODUP_VERIFY)."),
    ] = None,
    similar: Annotated[
        bool,
        typer.Option("--similar", help="List similar shots (bursts, not duplicates) instead."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV, one row per photo.")] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write JSON/CSV to this file.")
    ] = None,
) -> None:
    """Group exact copies, re-encodes, crops, edits and bursts; suggest a keeper for each."""
    from rich.console import Console

    from photodup.finder.export import groups_csv, groups_json, print_groups
    from photodup.finder.grouping import find_grouping
    from photodup.finder.settings import get_finder_settings
    from photodup.finder.store import Store

    if as_json and as_csv:
        raise typer.BadParameter("choose one of --json and --csv")
    settings = get_finder_settings(
        db_path=db,
        cosine_threshold=cosine_threshold,
        phash_distance=phash_distance,
        use_embeddings=embeddings,
        verify=verify,
    )
    if not (settings.db_path or library / ".photodup" / "index.db").exists():
        typer.echo(f"error: {library} has no index yet; run: photodup scan {library}", err=True)
        raise typer.Exit(1)
    logging.getLogger("photodup.finder").setLevel(logging.WARNING)
    with Store.open(library, settings.db_path) as store:
        grouping = find_grouping(store, settings)
    found = grouping.similar if similar else grouping.duplicates
    if as_json or as_csv:
        text = groups_json(found) if as_json else groups_csv(found)
        if output is not None:
            output.write_text(text)
        else:
            typer.echo(text, nl=False)
        return
    console = Console(width=160)
    print_groups(console, found)
    if not similar and grouping.similar:
        n = len(grouping.similar)
        console.print(
            f"{n} set{'s' if n != 1 else ''} of similar shots (bursts, the same scene again) "
            f"kept apart from the duplicates: photodup groups {library} --similar"
        )


def register(app: typer.Typer) -> None:
    app.command("groups")(groups)
