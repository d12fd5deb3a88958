"""``photodup triton``: serve the exported repository with the wheel's Triton (no Docker)."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from photodup.settings import TritonSettings


def register(app: typer.Typer) -> None:
    defaults = TritonSettings()

    @app.command("triton")
    def triton(
        model_repository: Annotated[
            Path,
            typer.Option("--model-repository", help="Repository written by `photodup export`."),
        ] = defaults.model_repository,
        http_port: int = typer.Option(defaults.http_port, "--http-port"),
        grpc_port: int = typer.Option(defaults.grpc_port, "--grpc-port"),
        metrics_port: int = typer.Option(defaults.metrics_port, "--metrics-port"),
        host: str = typer.Option(defaults.host, "--host", help="Address to bind."),
        startup_timeout: float = typer.Option(
            defaults.startup_timeout_s, "--startup-timeout", help="Seconds to wait for ready."
        ),
        log_verbose: int = typer.Option(defaults.log_verbose, "--log-verbose"),
        log_file: Annotated[
            Path | None, typer.Option("--log-file", help="Triton's log (default: a temp file).")
        ] = None,
        poll: int = typer.Option(
            0, "--poll", help="Re-scan the repository every N s (hot swap of new versions)."
        ),
    ) -> None:
        """Start tritonserver on the exported repository; Ctrl-C stops it cleanly."""
        from photodup.triton import LocalTriton, TritonLaunchError, TritonPorts

        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per readiness poll

        server = LocalTriton(
            model_repository,
            TritonPorts(http_port, grpc_port, metrics_port, host),
            log_path=log_file,
            log_verbose=log_verbose,
            poll_repository_s=poll or None,
        )
        stop = threading.Event()

        def forward(signum: int, _frame: FrameType | None) -> None:
            typer.echo(f"{signal.Signals(signum).name} received; stopping Triton", err=True)
            stop.set()

        previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            server.start()
            server.wait_ready(startup_timeout)
            typer.echo(
                f"Triton ready: HTTP {server.http_url}  gRPC {server.grpc_url}  "
                f"metrics {server.metrics_url}  (log {server.log_path})"
            )
            while not stop.is_set():
                if server.process is not None and server.process.poll() is not None:
                    typer.echo(
                        f"error: tritonserver exited with code {server.process.returncode}:\n"
                        f"{server.log_tail()}",
                        err=True,
                    )
                    raise typer.Exit(1)
                stop.wait(0.5)
        except TritonLaunchError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        finally:
            code = server.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if code is not None:
                typer.echo(f"Triton stopped (exit code {code})", err=True)
