"""``photodup resolve``: keep one photo of a group, move the others into the quarantine."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from photodup.finder.groups import Group
    from photodup.finder.records import Photo
    from photodup.finder.settings import FinderSettings
    from photodup.finder.store import Store


def _pick_keeper(group: Group, keep: str | None) -> Photo:
    if keep is None:
        return group.keeper
    for photo in group.members:
        if keep in (str(photo.id), photo.display_path):
            return photo
    choices = ", ".join(f"{p.id} ({p.display_path})" for p in group.members)
    raise typer.BadParameter(f"{keep!r} is not in group {group.key}; choose one of: {choices}")


def resolve(
    library: Annotated[Path, typer.Argument(help="The scanned library.")],
    group: Annotated[
        str | None, typer.Argument(help="Group key (see photodup groups), or use --all.")
    ] = None,
    keep: Annotated[
        str | None,
        typer.Option(help="Photo to keep: id or path (default: the suggested keeper)."),
    ] = None,
    all_groups: Annotated[
        bool, typer.Option("--all", help="Every group, keeping each suggested keeper.")
    ] = False,
    dry_run: Annotated[bool, typer.Option(help="Print what would move; move nothing.")] = False,
    db: Annotated[Path | None, typer.Option(help="Index file (default in the library).")] = None,
    quarantine: Annotated[
        str | None,
        typer.Option(help="Quarantine folder (PHOTODUP_QUARANTINE_DIR; inside .photodup)."),
    ] = None,
) -> None:
    """Move duplicates aside, never deleting. Changed files are refused; undo restores."""
    from photodup.finder.actions import quarantine_root, recover_pending
    from photodup.finder.lock import LibraryBusy, hold_library
    from photodup.finder.settings import get_finder_settings
    from photodup.finder.store import Store

    if (group is None) == (not all_groups):
        raise typer.BadParameter("give one group key or --all (not both, not neither)")
    if keep is not None and all_groups:
        raise typer.BadParameter("--keep goes with one group key, not with --all")
    settings = get_finder_settings(db_path=db, quarantine_dir=quarantine)
    with Store.open(library, settings.db_path) as store:
        try:
            with hold_library(store.library, "photodup resolve"):
                # Settle interrupted moves before groups are computed, so a group a crash
                # left half-way is seen whole again (and resolved on this run).
                for note in recover_pending(store):
                    typer.echo(f"recovered: {note}", err=True)
                target = quarantine_root(store, settings.quarantine_dir)
                refused = _resolve_groups(store, settings, target, group, keep, dry_run)
        except LibraryBusy as exc:
            typer.echo(f"not resolved: {exc}", err=True)
            raise typer.Exit(3) from None
    if refused:
        typer.echo(f"{refused} file(s) were left in place; scan again and retry", err=True)
        raise typer.Exit(2)


def _resolve_groups(
    store: Store,
    settings: FinderSettings,
    target: Path,
    group: str | None,
    keep: str | None,
    dry_run: bool,
) -> int:
    """Resolve the chosen groups; returns how many files were refused."""
    from photodup.finder.actions import resolve_group
    from photodup.finder.grouping import find_groups

    groups = find_groups(store, settings)
    if group is not None:
        groups = [g for g in groups if g.key == group]
        if not groups:
            typer.echo(f"no group {group} in {store.library} (run photodup groups)", err=True)
            raise typer.Exit(1)
    if not groups:
        typer.echo("no duplicate groups")
    verb = "would move" if dry_run else "moved"
    refused = 0
    for g in groups:
        keeper = _pick_keeper(g, keep)
        others = [p for p in g.members if p.id != keeper.id]
        reason = g.keeper_reason if keeper.id == g.keeper.id else "chosen with --keep"
        typer.echo(f"group {g.key}: keep {keeper.display_path} ({reason})")
        result = resolve_group(
            store, keeper, others, quarantine=target, group_key=g.key, dry_run=dry_run
        )
        for move in result.moved:
            typer.echo(f"  {verb} {move.src_display} -> {move.dst}")
        for same in result.same_file:
            typer.echo(f"  kept {same.path}: {same.reason.removeprefix('not moved: ')}")
        if result.refused_group:
            typer.echo(f"  GROUP REFUSED: {result.problems[0].reason}", err=True)
            refused += len(others)
            continue
        for problem in result.problems:
            typer.echo(f"  NOT moved {problem.path}: {problem.reason}", err=True)
        refused += len(result.problems)
        if result.action_id is not None:
            typer.echo(f"  action {result.action_id} (undo: photodup undo {store.library})")
    return refused


def register(app: typer.Typer) -> None:
    app.command("resolve")(resolve)
