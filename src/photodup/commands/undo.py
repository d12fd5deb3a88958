"""``photodup undo``: put back what the last action (or ``--action N``) moved aside."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from photodup.finder.store import Store


def undo(
    library: Annotated[Path, typer.Argument(help="The library the action was taken in.")],
    action: Annotated[
        int | None, typer.Option("--action", help="Action id (default: the latest not undone).")
    ] = None,
    db: Annotated[Path | None, typer.Option(help="Index file (default in the library).")] = None,
    list_actions: Annotated[
        bool, typer.Option("--list", help="List the recorded actions instead.")
    ] = False,
) -> None:
    """Restore moved photos to their exact original path, never over a file now there."""
    from photodup.finder.actions import NothingToUndo, undo_action
    from photodup.finder.lock import LibraryBusy, hold_library
    from photodup.finder.settings import get_finder_settings
    from photodup.finder.store import Store

    settings = get_finder_settings(db_path=db)
    with Store.open(library, settings.db_path) as store:
        if list_actions:
            _print_actions(store)
            return
        try:
            with hold_library(store.library, "photodup undo"):
                result = undo_action(store, action)
        except NothingToUndo as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from None
        except LibraryBusy as exc:
            typer.echo(f"not undone: {exc}", err=True)
            raise typer.Exit(3) from None
    if result.kind == "dismiss":
        typer.echo(f"action {result.action_id}: the 'not duplicates' mark is removed")
        return
    for path in result.restored:
        typer.echo(f"restored {path}")
    for problem in result.problems:
        typer.echo(f"NOT restored {problem.path}: {problem.reason}", err=True)
    typer.echo(f"action {result.action_id}: {len(result.restored)} file(s) restored")
    if result.unindexed:
        typer.echo(f"{result.unindexed} restored photo(s) are not in the index: scan again")
    if not result.complete:
        if result.restored or any(p.path != f"action {result.action_id}" for p in result.problems):
            typer.echo("fix the problems above and run the same undo again", err=True)
        raise typer.Exit(2)


def _print_actions(store: Store) -> None:
    rows = store.conn.execute(
        "SELECT a.id, a.created_at, a.kind, a.group_key, a.undone_at,"
        " sum(m.status='done') AS moved, sum(m.status='restored') AS restored"
        " FROM actions a LEFT JOIN moves m ON m.action_id=a.id GROUP BY a.id ORDER BY a.id"
    ).fetchall()
    if not rows:
        typer.echo("no actions recorded")
    for r in rows:
        when = dt.datetime.fromtimestamp(r["created_at"]).strftime("%Y-%m-%d %H:%M:%S")
        state = "undone" if r["undone_at"] else f"{r['moved'] or 0} file(s) in quarantine"
        typer.echo(f"{r['id']:>4}  {when}  {r['kind']:<8} group {r['group_key'] or '-'}  {state}")


def register(app: typer.Typer) -> None:
    app.command("undo")(undo)
