"""``photodup demo``: everything a newcomer needs in one command, no GPU and no Docker.

Picks the weights (real ones if the model hub is reachable, else seeded random ones, said
plainly), starts a backend as a child process, builds a sample library of real photos with
derived duplicates, scans it and serves the review page. Children run in their own
process group and are stopped in ``finally``, so Ctrl-C leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from photodup.processes import ChildProcess

#: A few derivations per photo keep demo groups a size a person can review at a glance.
DEMO_KINDS = ("jpeg_q70", "resize_50", "crop_15", "heic")
HUB_HOST = "huggingface.co"


def _echo(message: str) -> None:
    typer.echo(f"[demo] {message}", err=True)


def choose_weights(requested: str | None) -> str:
    """The pretrained tag to use: the requested one, else the real weights when reachable."""
    from photodup.contract import DEFAULT_PRETRAINED, PRETRAINED_NONE

    if requested:
        return requested
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    reason = "HF_HUB_OFFLINE is set"
    if not offline:
        try:
            # One quick connection attempt instead of open_clip's minute of retries.
            socket.create_connection((HUB_HOST, 443), timeout=3.0).close()
            return DEFAULT_PRETRAINED
        except OSError as exc:
            offline, reason = True, f"{HUB_HOST} is not reachable ({exc})"
    _echo(
        f"the real CLIP weights ({DEFAULT_PRETRAINED}) cannot be downloaded: {reason}. "
        f"Continuing with pretrained={PRETRAINED_NONE} (random weights): copies, re-encodes, "
        "crops, mirrors and edits are still found by hashes and local-feature verification, "
        "but embedding similarity alone is meaningless."
    )
    return PRETRAINED_NONE


def _spawn(name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> ChildProcess:
    from photodup.processes import ChildProcess

    child = ChildProcess(name, argv, log_dir / f"{name}.log", env=env)
    child.start()
    _echo(f"started {name} (pid {child.process.pid}, log {child.log_path})")
    return child


def _stop(child: ChildProcess) -> None:
    if child.poll() is None:
        code = child.stop(timeout_s=30.0)
        _echo(f"stopped {child.name} (exit code {code})")


def start_backend(
    backend: str, pretrained: str, repository: Path, log_dir: Path
) -> tuple[ChildProcess, str, str]:
    """Start the chosen backend; returns (child, url, protocol)."""
    from photodup.processes import free_port

    env = {"PRETRAINED": pretrained, "PYTHONUNBUFFERED": "1"}
    cli = [sys.executable, "-m", "photodup.cli"]
    if backend == "pytorch":
        port = free_port()
        child = _spawn("pytorch-service", [*cli, "serve", "--host", "127.0.0.1", "--port",
                      str(port)], env, log_dir)  # fmt: skip
        return child, f"http://127.0.0.1:{port}", "http"
    from photodup.export import ExportOptions, export_repository

    _echo(f"exporting the model to {repository} (skipped when it is up to date)")
    result = export_repository(
        ExportOptions(pretrained=pretrained, output=repository, triton_backend="python",
                      instance_kind="cpu")
    )  # fmt: skip
    _echo(f"model repository ready: {result.version_dir}")
    http, grpc, metrics = free_port(), free_port(), free_port()
    argv = [*cli, "triton", "--model-repository", str(repository), "--http-port", str(http),
            "--grpc-port", str(grpc), "--metrics-port", str(metrics)]  # fmt: skip
    return _spawn("triton", argv, env, log_dir), f"http://127.0.0.1:{http}", "http"


def prepare_library(photos: Path | None, library: Path, sample_photos: int) -> Path:
    from photodup.finder.sample import DISTRACTORS, MANIFEST, build_sample_library
    from photodup.finder.sources import COLOUR_PHOTOS

    if photos is not None:
        if not photos.is_dir():
            raise typer.BadParameter(f"{photos} is not a folder", param_hint="--photos")
        return photos
    if (library / MANIFEST).is_file():
        _echo(f"reusing the sample library in {library} (delete it for a fresh one)")
        return library
    if library.exists() and any(library.iterdir()):
        raise typer.BadParameter(
            f"{library} exists and is not a sample library; choose another --library"
        )
    _echo(f"building a sample library of real photos with derived duplicates in {library}")
    n = max(1, min(sample_photos, len(COLOUR_PHOTOS)))
    built = build_sample_library(
        library, photos=COLOUR_PHOTOS[:n], kinds=DEMO_KINDS, distractors=DISTRACTORS[:n]
    )
    _echo(
        f"wrote {len(built.files)} files ({len(built.photos())} photos, the rest broken on purpose)"
    )
    return library


@contextmanager
def backend_stack(backend: str, pretrained: str, repository: Path) -> Iterator[tuple[str, str]]:
    """Run the backend until the block ends, whatever ends it (Ctrl-C included)."""
    from photodup.client import InferenceClient

    log_dir = Path(tempfile.mkdtemp(prefix="photodup-demo-"))
    child: ChildProcess | None = None
    try:
        child, url, protocol = start_backend(backend, pretrained, repository, log_dir)
        _echo(f"waiting for the {backend} backend at {url} (loading the model takes a while)")
        with InferenceClient(url, backend, protocol=protocol) as client:
            child.wait_until(client.ready, url, timeout_s=600, poll_s=0.5)
        _echo(f"{backend} backend ready at {url}")
        yield url, protocol
    finally:
        if child is not None:
            _stop(child)
            if child.poll() == 0:
                shutil.rmtree(log_dir, ignore_errors=True)  # kept only when something failed


def scan_with_progress(library: Path, url: str, backend: str, protocol: str) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from photodup.client import InferenceClient
    from photodup.finder.scan import scan_library
    from photodup.finder.settings import get_finder_settings

    console = Console(stderr=True)
    bar = Progress(TextColumn("[bold][demo] scanning"), BarColumn(), MofNCompleteColumn(),
                   console=console)  # fmt: skip
    task = bar.add_task("scan", total=None)
    with InferenceClient(url, backend, protocol=protocol) as client, bar:
        summary = scan_library(
            library,
            client,
            get_finder_settings(),
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    skipped = sum(summary.skipped.values())
    _echo(
        f"scanned {summary.files_seen} files in {summary.seconds:.1f} s: {summary.embedded} "
        f"embedded, {summary.unchanged} unchanged, {skipped} skipped (see the overview page)"
    )


def serve_page(library: Path, host: str, port: int, backend: str, url: str, protocol: str) -> None:
    import uvicorn

    from photodup.ui.app import create_app
    from photodup.ui.settings import UiSettings
    from photodup.webserver import bind, server_config

    shown = f"grpc://{url}" if protocol == "grpc" else url
    settings = UiSettings(library=library, host=host, port=port, backends=f"{backend}={shown}")
    app = create_app(settings)
    # Bound before "ready" is printed: whoever reads it can connect at once (the backlog
    # holds the connection until uvicorn accepts it), no race with the server's start-up.
    sock = bind(host, port)
    typer.echo(f"\n  photodup is ready: open http://{host}:{port}/  (Ctrl-C stops everything)\n")
    uvicorn.Server(server_config(app)).run(sockets=[sock])


def demo(
    backend: Annotated[str, typer.Option(help="pytorch (photodup serve) or triton (local).")] = (
        "pytorch"
    ),
    photos: Annotated[
        Path | None, typer.Option(help="Your own photo folder instead of the sample (PHOTOS_DIR).")
    ] = None,
    library: Annotated[Path, typer.Option(help="Where the sample library goes.")] = Path(
        "sample_library"
    ),
    sample_photos: Annotated[int, typer.Option(help="Real photos the sample starts from.")] = 11,
    pretrained: Annotated[
        str | None,
        typer.Option(help="Weights tag; default: the real ones if reachable, else none."),
    ] = None,
    model_repository: Annotated[Path, typer.Option(help="For --backend triton.")] = Path(
        "model_repository"
    ),
    host: Annotated[str, typer.Option(help="Address of the review page.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the review page.")] = 8000,
    exit_after_scan: Annotated[
        bool, typer.Option(help="Stop after the scan instead of serving the page (scripts, CI).")
    ] = False,
) -> None:
    """Start a backend, build and scan a sample library, serve the review page."""
    if backend not in ("pytorch", "triton"):
        raise typer.BadParameter("choose pytorch or triton", param_hint="--backend")
    import logging

    # Readiness polls and faiss's CPU-feature probing are not news for the person reading.
    for noisy in ("httpx", "faiss.loader"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if photos is None and os.environ.get("PHOTOS_DIR"):
        photos = Path(os.environ["PHOTOS_DIR"])
    # SIGTERM (docker stop, systemd, kill) unwinds like Ctrl-C so children are stopped.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    weights = choose_weights(pretrained)
    target = prepare_library(photos, library.resolve(), sample_photos)
    try:
        with backend_stack(backend, weights, model_repository) as (url, protocol):
            scan_with_progress(target, url, backend, protocol)
            if exit_after_scan:
                return
            serve_page(target, host, port, backend, url, protocol)
    except KeyboardInterrupt:
        _echo("interrupted; everything the demo started has been stopped")
        raise typer.Exit(130) from None
    except RuntimeError as exc:
        _echo(f"error: {exc}")
        raise typer.Exit(1) from None


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
