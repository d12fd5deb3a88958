"""Parse ``photodup`` argument lists with the real CLI, as a container would run them."""

from __future__ import annotations

from typing import Any

import typer.main

from photodup.cli import app
from photodup.export import ExportOptions


def parse_photodup(argv: list[str]) -> tuple[str, dict[str, Any]]:
    """Parse ``photodup SUB ARGS...`` with the real CLI; returns the subcommand and its params.

    ``make_context`` converts and validates every option (types, unknown names, missing
    arguments) without calling the command. Typer ships its own click, so this goes through
    the group's own ``context_class`` rather than ``click.Context``.
    """
    assert argv[0] == "photodup", argv
    group: Any = typer.main.get_command(app)
    root = group.context_class(group, info_name="photodup")
    command = group.get_command(root, argv[1])
    assert command is not None, f"`photodup {argv[1]}` is not a subcommand: {argv}"
    try:
        ctx = command.make_context(argv[1], list(argv[2:]), parent=root)
    except Exception as exc:  # typer's vendored click raises its own UsageError classes
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        raise AssertionError(f"{argv}: {message}") from exc
    return argv[1], dict(ctx.params)


def export_options(params: dict[str, Any]) -> ExportOptions:
    renamed = {("model_name" if key == "model" else key): value for key, value in params.items()}
    return ExportOptions(**renamed)
