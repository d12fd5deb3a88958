"""``photodup ui``: the review page for a scanned library (127.0.0.1:8000 by default)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer


def ui(
    library: Annotated[
        Path | None,
        typer.Option("--library", "-l", help="Photo library to review (PHOTODUP_UI_LIBRARY)."),
    ] = None,
    db: Annotated[
        Path | None, typer.Option(help="Index file (PHOTODUP_UI_DB; default in the library).")
    ] = None,
    host: Annotated[
        str | None,
        typer.Option(help="Address to bind (PHOTODUP_UI_HOST, default 127.0.0.1: this machine)."),
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (PHOTODUP_UI_PORT, default 8000).")] = None,
) -> None:
    """Serve the web page to review duplicate groups, keep the best photo, undo."""
    import logging

    import uvicorn

    from photodup.ui.app import create_app
    from photodup.ui.settings import UiSettings
    from photodup.webserver import ListenError, bind, server_config

    # Readiness probes and faiss's CPU-feature probing are not news for the person reading.
    for noisy in ("httpx", "faiss.loader"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    given: dict[str, Any] = {"library": library, "db": db, "host": host, "port": port}
    # Init arguments override the PHOTODUP_UI_* environment, which fills in the rest.
    settings = UiSettings(**{k: v for k, v in given.items() if v is not None})
    if settings.library is None:
        raise typer.BadParameter("which library? pass --library PATH or set PHOTODUP_UI_LIBRARY")
    if not settings.library.is_dir():
        raise typer.BadParameter(f"{settings.library} is not a folder", param_hint="--library")
    app = create_app(settings)
    try:  # bound before "open ..." is printed: the address is live once it shows
        sock = bind(settings.host, settings.port)
    except ListenError as exc:
        raise typer.BadParameter(str(exc), param_hint="--port") from None
    typer.echo(f"photodup review page for {settings.library.resolve()}")
    typer.echo(f"open http://{_display_host(settings.host)}:{settings.port}/  (Ctrl-C stops it)")
    uvicorn.Server(server_config(app)).run(sockets=[sock])


def _display_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def register(app: typer.Typer) -> None:
    app.command("ui")(ui)
