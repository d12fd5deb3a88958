"""``photodup eval``: precision/recall/F1 of grouping on a labelled near-duplicate set."""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Annotated

import typer

_LIB_HELP = "Labelled library to use (built by photodup.finder.sample); default: build one."


def _split(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def eval_command(
    library: Annotated[Path | None, typer.Option(help=_LIB_HELP)] = None,
    photos: Annotated[
        str | None, typer.Option(help="Comma-separated source photos (default: the colour set).")
    ] = None,
    kinds: Annotated[
        str | None, typer.Option(help="Comma-separated derivations (default: all).")
    ] = None,
    output: Annotated[Path | None, typer.Option(help="Also write the report as JSON here.")] = None,
    backend: Annotated[
        str | None, typer.Option(help="pytorch or triton (INFERENCE_BACKEND).")
    ] = None,
    url: Annotated[str | None, typer.Option(help="Backend URL (INFERENCE_SERVICE_URL).")] = None,
) -> None:
    """Build a labelled set from real photos, scan it through the backend, score grouping."""
    from rich.console import Console

    from photodup.client import InferenceClient
    from photodup.finder.derive import NEGATIVES
    from photodup.finder.evaluate import evaluate
    from photodup.finder.report import print_eval
    from photodup.finder.sample import build_sample_library, read_sample_library
    from photodup.finder.scan import ScanError, scan_library
    from photodup.finder.settings import get_finder_settings
    from photodup.finder.sources import COLOUR_PHOTOS
    from photodup.finder.store import Store
    from photodup.finder.verify.cache import load_features

    logging.getLogger("httpx").setLevel(logging.WARNING)
    console = Console(stderr=True)
    settings = get_finder_settings()
    with tempfile.TemporaryDirectory(prefix="photodup-eval-") as tmp:
        if library is not None and (library / "manifest.json").is_file():
            lib = read_sample_library(library)
        else:
            root = library or Path(tmp) / "library"
            console.print(f"building the labelled set in {root}")
            lib = build_sample_library(
                root,
                photos=_split(photos) or COLOUR_PHOTOS,
                kinds=_split(kinds),
                negatives=tuple(NEGATIVES),
            )
        # The eval owns its index, so a user's PHOTODUP_DB_PATH cannot mix libraries.
        settings = settings.model_copy(update={"db_path": Path(tmp) / "eval-index.db"})
        with InferenceClient(url, backend) as client:
            try:
                scan_library(lib.root, client, settings, on_waiting=console.print)
            except ScanError as exc:
                console.print(f"[red]error:[/red] {exc}")
                raise typer.Exit(1) from None
            info = client.server_info()
        with Store.open(lib.root, settings.db_path) as store:
            report = evaluate(
                lib,
                store.list_photos(),
                store.embeddings(),
                settings,
                model=str(info.get("model_name")),
                pretrained=str(info.get("pretrained")),
                features=lambda reps: load_features(store.conn, store.library, reps),
            )
    print_eval(Console(width=140), report, settings)
    if output is not None:
        output.write_text(json.dumps(report.to_dict(), indent=2))


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
