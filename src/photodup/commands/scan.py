"""``photodup scan PATH``: index a photo library (incremental, resumable)."""

from __future__ import annotations

import logging
import signal
import time
from pathlib import Path
from typing import Annotated

import typer

_DB_HELP = "Index file (default <library>/.photodup/index.db; PHOTODUP_DB_PATH)."


def _stop_on_ctrl_c_and_term() -> None:
    """Ctrl-C and SIGTERM stop the scan cleanly (finished batches stay committed).

    Installed explicitly: a process started in the background by a non-interactive shell
    inherits SIGINT as ignored, and SIGTERM would otherwise end it without any cleanup.
    """

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)


def scan(
    library: Annotated[Path, typer.Argument(help="Folder of photos to index (recursively).")],
    db: Annotated[Path | None, typer.Option(help=_DB_HELP)] = None,
    workers: Annotated[
        int | None, typer.Option(help="Decode worker processes (PHOTODUP_WORKERS).")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(help="Photos per request (PHOTODUP_BATCH_SIZE).")
    ] = None,
    in_flight: Annotated[
        int | None, typer.Option(help="Requests kept in flight (PHOTODUP_REQUESTS_IN_FLIGHT).")
    ] = None,
    backend_wait: Annotated[
        float | None,
        typer.Option(help="Seconds to wait for the backend (PHOTODUP_BACKEND_WAIT_S)."),
    ] = None,
    backend: Annotated[
        str | None, typer.Option(help="pytorch or triton (INFERENCE_BACKEND).")
    ] = None,
    url: Annotated[str | None, typer.Option(help="Backend URL (INFERENCE_SERVICE_URL).")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Index photos: content hash, metadata, perceptual hashes and an embedding for each.

    Unchanged files are not read again; an interrupted scan resumes where it stopped.
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from photodup.client import InferenceClient
    from photodup.finder.report import print_scan_summary
    from photodup.finder.scan import ScanError, scan_library
    from photodup.finder.settings import get_finder_settings

    _stop_on_ctrl_c_and_term()
    # One line per request would bury the progress bar.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    console = Console(stderr=True)
    settings = get_finder_settings(
        db_path=db,
        workers=workers,
        batch_size=batch_size,
        requests_in_flight=in_flight,
        backend_wait_s=backend_wait,
    )
    bar = Progress(
        TextColumn("[bold]scanning"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:.1f} photos/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=not progress,
    )
    task = bar.add_task("scan", total=None, rate=0.0)
    started: list[float] = []

    def on_progress(done: int, total: int) -> None:
        if not started:
            started.append(time.monotonic())
        elapsed = max(time.monotonic() - started[0], 1e-9)
        bar.update(task, completed=done, total=total, rate=done / elapsed)

    with InferenceClient(url, backend) as client:
        try:
            with bar:
                summary = scan_library(
                    library,
                    client,
                    settings,
                    progress=on_progress,
                    on_waiting=console.print,
                )
        except ScanError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            console.print(
                "[yellow]interrupted:[/yellow] finished batches are saved; "
                "run the same scan again to resume"
            )
            raise typer.Exit(130) from None
    print_scan_summary(console, summary, settings)


def register(app: typer.Typer) -> None:
    app.command("scan")(scan)
