"""Safe actions on real files: quarantine moves, sidecars, collisions, refusal, undo, recovery."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from photodup.finder.actions import (
    NothingToUndo,
    dismiss_group,
    quarantine_root,
    recover_pending,
    resolve_group,
    undo_action,
)
from photodup.finder.examine import examine
from photodup.finder.filemoves import claim_destination, move_file, same_filesystem
from photodup.finder.store import Photo, Store
from photodup.finder.walk import walk_library


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _index(library: Path) -> tuple[Store, dict[str, Photo]]:
    """Index every image under ``library`` the way the scan does (without embeddings)."""
    store = Store.open(library)
    for found in walk_library(library).files:
        item = examine(found)
        if item.record is not None:
            store.upsert_photo(item.record)
    return store, {p.display_path: p for p in store.list_photos()}


@pytest.fixture
def library(tmp_path: Path, real_photo_images: dict[str, Image.Image]) -> Path:
    """originals/ with one photo and two copies elsewhere, plus sidecars of one copy."""
    lib = tmp_path / "library"
    img = real_photo_images["chelsea"]
    for rel, quality in (("originals/cat.jpg", 95), ("copies/cat.jpg", 70), ("old/IMG_7.JPG", 80)):
        (lib / rel).parent.mkdir(parents=True, exist_ok=True)
        img.save(lib / rel, "JPEG", quality=quality)
    (lib / "old/IMG_7.xmp").write_text("<x:xmpmeta>rating 3</x:xmpmeta>")
    (lib / "old/img_7.aae").write_text("<plist>crop</plist>")
    (lib / "old/IMG_7.MOV").write_bytes(os.urandom(4096))
    (lib / "old/IMG_70.xmp").write_text("belongs to another photo")
    return lib


def _snapshot(library: Path) -> dict[str, str]:
    return {
        str(p.relative_to(library)): _digest(p)
        for p in library.rglob("*")
        if p.is_file() and ".photodup" not in p.parts
    }


@pytest.mark.parametrize("force_copy", [False, True], ids=["rename", "copy"])
def test_resolve_moves_others_with_sidecars_and_undo_restores_bytes(
    library: Path, force_copy: bool
) -> None:
    before = _snapshot(library)
    store, photos = _index(library)
    keeper = photos["originals/cat.jpg"]
    others = [photos["copies/cat.jpg"], photos["old/IMG_7.JPG"]]
    quarantine = quarantine_root(store)

    result = resolve_group(store, keeper, others, quarantine=quarantine, force_copy=force_copy)

    assert not result.problems
    moved = sorted(m.src_display for m in result.moved)
    assert moved == sorted(
        ["copies/cat.jpg", "old/IMG_7.JPG", "old/IMG_7.xmp", "old/img_7.aae", "old/IMG_7.MOV"]
    )
    for rel in moved:
        assert not (library / rel).exists()
        assert _digest(quarantine / rel) == before[rel]  # same relative path, same bytes
    assert (library / "originals/cat.jpg").exists()
    assert (library / "old/IMG_70.xmp").exists()  # a different stem is not a sidecar
    assert store.quarantined_photo_ids() == {p.id for p in others}

    undone = undo_action(store)
    assert undone.complete and not undone.problems
    assert _snapshot(library) == before
    assert not any(p.is_file() for p in quarantine.rglob("*"))
    assert store.quarantined_photo_ids() == set()
    with pytest.raises(NothingToUndo):
        undo_action(store)


def test_dry_run_moves_nothing(library: Path) -> None:
    before = _snapshot(library)
    store, photos = _index(library)
    result = resolve_group(
        store,
        photos["originals/cat.jpg"],
        [photos["copies/cat.jpg"]],
        quarantine=quarantine_root(store),
        dry_run=True,
    )
    assert result.dry_run and [m.src_display for m in result.moved] == ["copies/cat.jpg"]
    assert _snapshot(library) == before
    assert not quarantine_root(store).exists()
    assert store.conn.execute("SELECT count(*) FROM actions").fetchone()[0] == 0


def test_changed_file_is_refused_and_the_rest_moves(library: Path) -> None:
    store, photos = _index(library)
    # Same size, same mtime, different bytes: only the hash can tell.
    victim = library / "copies/cat.jpg"
    st = victim.stat()
    data = bytearray(victim.read_bytes())
    data[-3] ^= 0xFF
    victim.write_bytes(bytes(data))
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    grown = library / "old/IMG_7.JPG"
    with grown.open("ab") as fh:
        fh.write(b"\0")

    result = resolve_group(
        store,
        photos["originals/cat.jpg"],
        [photos["copies/cat.jpg"], photos["old/IMG_7.JPG"]],
        quarantine=quarantine_root(store),
    )
    assert result.moved == []
    reasons = {p.path: p.reason for p in result.problems}
    assert "sha256" in reasons["copies/cat.jpg"]
    assert "size changed" in reasons["old/IMG_7.JPG"]
    assert victim.exists() and grown.exists()


def test_collision_in_quarantine_never_overwrites(library: Path) -> None:
    store, photos = _index(library)
    quarantine = quarantine_root(store)
    squatter = quarantine / "copies/cat.jpg"
    squatter.parent.mkdir(parents=True)
    squatter.write_bytes(b"an earlier occupant")
    original = _digest(library / "copies/cat.jpg")

    result = resolve_group(
        store, photos["originals/cat.jpg"], [photos["copies/cat.jpg"]], quarantine=quarantine
    )
    assert squatter.read_bytes() == b"an earlier occupant"
    [moved] = result.moved
    assert moved.dst == quarantine / "copies/cat~1.jpg"
    assert _digest(moved.dst) == original

    undo_action(store)
    assert _digest(library / "copies/cat.jpg") == original
    assert squatter.read_bytes() == b"an earlier occupant"


def test_undo_does_not_overwrite_a_reoccupied_path(library: Path) -> None:
    store, photos = _index(library)
    result = resolve_group(
        store, photos["originals/cat.jpg"], [photos["copies/cat.jpg"]],
        quarantine=quarantine_root(store),
    )  # fmt: skip
    newcomer = library / "copies/cat.jpg"
    newcomer.write_bytes(b"a new file with the old name")

    undone = undo_action(store, result.action_id)
    assert not undone.complete
    assert "occupied" in undone.problems[0].reason
    assert newcomer.read_bytes() == b"a new file with the old name"
    assert result.moved[0].dst.exists()  # still safe in the quarantine

    newcomer.unlink()
    assert undo_action(store, result.action_id).complete  # retry succeeds
    assert (library / "copies/cat.jpg").exists()


def test_cross_filesystem_move_and_undo(library: Path) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or same_filesystem(library, shm):
        pytest.skip("no second filesystem here; the forced-copy case covers the copy route")
    store, photos = _index(library)
    quarantine = Path(os.fsdecode(shm / f"photodup-test-{os.getpid()}-{library.parent.name}"))
    try:
        before = _snapshot(library)
        result = resolve_group(
            store, photos["originals/cat.jpg"], [photos["old/IMG_7.JPG"]], quarantine=quarantine
        )
        assert len(result.moved) == 4 and not result.problems
        assert os.stat(quarantine).st_dev != os.stat(library).st_dev
        assert _digest(quarantine / "old/IMG_7.JPG") == before["old/IMG_7.JPG"]
        # mtime travels with the copy, so the restored file still matches the index.
        assert undo_action(store).complete
        assert _snapshot(library) == before
        assert (library / "old/IMG_7.JPG").stat().st_mtime_ns == photos["old/IMG_7.JPG"].mtime_ns
    finally:
        shutil.rmtree(quarantine, ignore_errors=True)


def test_recovery_settles_interrupted_moves(library: Path) -> None:
    store, photos = _index(library)
    quarantine = quarantine_root(store)
    result = resolve_group(
        store, photos["originals/cat.jpg"], [photos["copies/cat.jpg"], photos["old/IMG_7.JPG"]],
        quarantine=quarantine,
    )  # fmt: skip
    rows = {r["src_display"]: r for r in store.conn.execute("SELECT * FROM moves")}
    # Crash 1: journalled as pending, claim made, file not moved yet -> roll back.
    undo_action(store)
    claim = claim_destination(quarantine / "copies/cat.jpg")
    store.conn.execute(
        "UPDATE moves SET status='pending', dst_path=? WHERE id=?",
        (os.fsencode(claim), rows["copies/cat.jpg"]["id"]),
    )
    # Crash 2: the move finished but the journal still says pending -> mark done.
    target, _ = move_file(library / "old/IMG_7.JPG", quarantine / "old/IMG_7.JPG")
    store.conn.execute(
        "UPDATE moves SET status='pending', dst_path=? WHERE id=?",
        (os.fsencode(target), rows["old/IMG_7.JPG"]["id"]),
    )

    notes = recover_pending(store)
    assert len(notes) == 2
    assert not claim.exists() and (library / "copies/cat.jpg").exists()
    status = {r["src_display"]: r["status"] for r in store.conn.execute("SELECT * FROM moves")}
    assert status["copies/cat.jpg"] == "failed"
    assert status["old/IMG_7.JPG"] == "done"
    assert result.action_id is not None


def test_dismiss_is_remembered_and_undoable(library: Path) -> None:
    store, photos = _index(library)
    ids = [photos["originals/cat.jpg"].id, photos["copies/cat.jpg"].id]
    dismiss_group(store, ids, group_key="g1")
    assert len(store.dismissed_sets()) == 1
    undone = undo_action(store)
    assert undone.kind == "dismiss" and undone.complete
    assert store.dismissed_sets() == []


def test_resolve_and_undo_commands(library: Path) -> None:
    from typer.testing import CliRunner

    from photodup.cli import app

    before = _snapshot(library)
    _index(library)[0].close()
    runner = CliRunner()
    listed = runner.invoke(app, ["resolve", str(library), "--all", "--dry-run"])
    assert listed.exit_code == 0, listed.output
    assert listed.output.count("would move") == 5  # two photos, three sidecars
    assert _snapshot(library) == before

    key = re.search(r"group ([0-9a-f]+): keep (\S+)", listed.output)
    assert key is not None and key.group(2) == "originals/cat.jpg"
    wrong = runner.invoke(app, ["resolve", str(library), key.group(1), "--keep", "nope.jpg"])
    assert wrong.exit_code != 0 and "not in group" in wrong.output
    done = runner.invoke(app, ["resolve", str(library), key.group(1), "--keep", "copies/cat.jpg"])
    assert done.exit_code == 0, done.output
    assert (library / "copies/cat.jpg").exists() and not (library / "originals/cat.jpg").exists()
    assert "NOT moved" not in done.output

    undone = runner.invoke(app, ["undo", str(library)])
    assert undone.exit_code == 0, undone.output
    assert _snapshot(library) == before
    listing = runner.invoke(app, ["undo", str(library), "--list"])
    assert "undone" in listing.output
    again = runner.invoke(app, ["undo", str(library)])
    assert again.exit_code == 1 and "nothing to undo" in again.output


def test_undo_after_a_rescan_forgot_the_photos_says_so(library: Path) -> None:
    store, photos = _index(library)
    moved = photos["copies/cat.jpg"]
    resolve_group(store, photos["originals/cat.jpg"], [moved], quarantine=quarantine_root(store))
    store.remove_photos([moved.id])  # what a scan does to a file that left the library
    undone = undo_action(store)
    assert undone.complete and undone.unindexed == 1
    assert (library / "copies/cat.jpg").is_file()


def test_recovery_removes_a_truncated_restore_left_by_an_older_photodup(library: Path) -> None:
    """D3 as journals written before the step-by-step states show it: ``restoring`` with a
    truncated 0600 file at the photo's own path, the quarantine copy intact."""
    store, photos = _index(library)
    quarantine = quarantine_root(store)
    result = resolve_group(
        store, photos["originals/cat.jpg"], [photos["copies/cat.jpg"]], quarantine=quarantine
    )
    [moved] = [m for m in result.moved if m.src_display == "copies/cat.jpg"]
    partial = library / "copies/cat.jpg"
    partial.write_bytes(moved.dst.read_bytes()[:1000])
    partial.chmod(0o600)
    store.conn.execute("UPDATE moves SET status='restoring' WHERE action_id=?", (result.action_id,))

    notes = recover_pending(store)

    assert notes == ["copies/cat.jpg: interrupted move rolled back, nothing changed"]
    assert not partial.exists() and _digest(moved.dst) == moved.sha256
    undone = undo_action(store)  # the path is free again: the same undo now succeeds
    assert undone.complete and _digest(partial) == moved.sha256


def test_recovery_when_only_the_durable_claiming_step_reached_the_disk(library: Path) -> None:
    """A power cut can lose the steps after ``claiming`` (written with synchronous=FULL)
    while the rename reached the disk: the file at the journalled name is found and kept."""
    store, photos = _index(library)
    quarantine = quarantine_root(store)
    result = resolve_group(
        store, photos["originals/cat.jpg"], [photos["copies/cat.jpg"]], quarantine=quarantine
    )
    [moved] = result.moved
    store.conn.execute("UPDATE moves SET status='claiming' WHERE action_id=?", (result.action_id,))
    notes = recover_pending(store)
    assert notes == [f"copies/cat.jpg: interrupted move had finished, now at {moved.dst}"]
    status = store.conn.execute("SELECT status FROM moves").fetchone()[0]
    assert status == "done" and _digest(moved.dst) == moved.sha256
    assert undo_action(store).complete and (library / "copies/cat.jpg").is_file()
