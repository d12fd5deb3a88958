"""The ``photodup`` command line.

Every subcommand module in ``photodup.commands`` registers itself.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil

import typer

import photodup.commands

app = typer.Typer(
    name="photodup",
    help="Find near-duplicate photos with OpenCLIP embeddings served by PyTorch or Triton.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_commands() -> None:
    for module in sorted(pkgutil.iter_modules(photodup.commands.__path__), key=lambda m: m.name):
        importlib.import_module(f"photodup.commands.{module.name}").register(app)


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging.")) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        # One line per HTTP request or index build drowns the progress output.
        for noisy in ("httpx", "httpcore", "faiss", "faiss.loader"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


_register_commands()


def main() -> None:
    try:
        app()
    except Exception as exc:
        # A misconfigured or unreachable backend is the user's to fix, not a bug: say what is
        # wrong without a traceback. Imported here so `photodup --help` stays light.
        from photodup.client.errors import InferenceError

        if isinstance(exc, InferenceError):
            typer.echo(f"error: {exc}", err=True)
            raise SystemExit(2) from None
        raise


if __name__ == "__main__":
    main()
