"""``photodup serve``: the PyTorch embedding service under uvicorn (one worker)."""

from __future__ import annotations

import logging
import signal

import typer

log = logging.getLogger(__name__)


def serve(
    host: str | None = typer.Option(
        None, help="Address to bind (default: SERVICE_HOST, else 127.0.0.1)."
    ),
    port: int | None = typer.Option(None, help="Port (default: SERVICE_PORT, else 8002)."),
    access_log: bool = typer.Option(False, help="Log every request (noisy under load)."),
) -> None:
    """Serve OpenCLIP embeddings over HTTP (PyTorch). Settings come from the environment:
    MODEL_NAME, PRETRAINED, MODEL_CHECKPOINT, MODEL_SEED, DEVICE, MAX_BATCH_SIZE,
    BATCHING_ENABLED, BATCH_WINDOW_MS, MAX_QUEUE_IMAGES, MAX_IMAGE_BYTES."""
    import uvicorn

    from photodup.serving import create_app
    from photodup.settings import get_service_settings
    from photodup.webserver import ListenError, bind, server_config

    settings = get_service_settings()
    updates = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = settings.model_copy(update=updates)

    def stop_server(exc: BaseException) -> None:
        # Called from the loader thread; uvicorn polls should_exit and shuts down cleanly.
        server.should_exit = True

    app = create_app(settings, on_load_failed=stop_server)
    try:  # a port in use fails here, before the model loads
        sock = bind(settings.host, settings.port)
    except ListenError as exc:
        raise typer.BadParameter(str(exc), param_hint="--port") from None
    config = server_config(
        app,
        access_log=access_log,
        log_level=None,  # levels come from the CLI's logging set-up
        log_config=None,  # keep the photodup logging set up by the CLI
        timeout_graceful_shutdown=30,
    )
    server = uvicorn.Server(config)
    log.info(
        "serving %s (%s) on http://%s:%d",
        settings.model_name,
        settings.pretrained,
        settings.host,
        settings.port,
    )
    # uvicorn installs its own SIGTERM/SIGINT handlers (finish in-flight requests, then the
    # lifespan drains the batch queue) and re-raises the signal into the handlers it found
    # when it is done. These make that final signal a clean exit: status 0, not 143.
    stopped_by: list[str] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stopped_by.append(signal.Signals(signum).name))
    server.run(sockets=[sock])
    if stopped_by:
        log.info("stopped cleanly on %s", stopped_by[0])
    if app.state.engine.status == "failed":
        typer.echo(f"error: the model could not be loaded: {app.state.engine.error}", err=True)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
