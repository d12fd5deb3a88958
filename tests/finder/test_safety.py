"""The last copy never leaves: keeper re-check (D1), sidecars (D2), symlinked folders (D6),
hard links (D12), and an undo that restored nothing says so. Real files, real commands."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from finder.test_actions import _digest, _index, _snapshot
from photodup.cli import app
from photodup.finder.actions import quarantine_root, resolve_group, undo_action
from photodup.finder.grouping import find_groups
from photodup.finder.settings import FinderSettings


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in list(os.environ):
        if name.startswith("PHOTODUP_"):
            monkeypatch.delenv(name)
    return CliRunner()


@pytest.fixture
def twins(tmp_path: Path, real_photo_images: dict[str, Image.Image]) -> Path:
    """e.jpg and the same bytes at backup/e.jpg: the shorter path is the keeper."""
    lib = tmp_path / "L"
    (lib / "backup").mkdir(parents=True)
    real_photo_images["chelsea"].save(lib / "e.jpg", "JPEG", quality=90)
    shutil.copy2(lib / "e.jpg", lib / "backup/e.jpg")
    _index(lib)[0].close()
    return lib


def _group_key(runner: CliRunner, lib: Path) -> str:
    listed = runner.invoke(app, ["resolve", str(lib), "--all", "--dry-run"])
    assert listed.exit_code == 0, listed.output
    return listed.output.split("group ", 1)[1].split(":", 1)[0]


@pytest.mark.parametrize("change", ["removed", "edited", "symlink"])
def test_a_keeper_that_is_gone_or_changed_refuses_the_group(
    twins: Path, runner: CliRunner, change: str
) -> None:
    key = _group_key(runner, twins)
    keeper = twins / "e.jpg"
    if change == "removed":
        keeper.unlink()
    elif change == "edited":  # same size and mtime, other bytes: only the hash can tell
        st, data = keeper.stat(), bytearray(keeper.read_bytes())
        data[-3] ^= 0xFF
        keeper.write_bytes(bytes(data))
        os.utime(keeper, ns=(st.st_atime_ns, st.st_mtime_ns))
    else:  # the keeper replaced by a link to the very copy that would be moved
        keeper.unlink()
        keeper.symlink_to(twins / "backup/e.jpg")
    backup = _digest(twins / "backup/e.jpg")

    done = runner.invoke(app, ["resolve", str(twins), key])

    assert done.exit_code == 2, done.output
    assert "keeper e.jpg" in done.output and "nothing moved" in done.output
    assert "moved backup" not in done.output
    assert _digest(twins / "backup/e.jpg") == backup  # the last copy stays in the library
    assert not any(p.is_file() for p in (twins / ".photodup").rglob("quarantine/**/*"))


def test_a_photo_named_like_a_sidecar_is_never_moved_as_one(
    tmp_path: Path, real_photo_images: dict[str, Image.Image], runner: CliRunner
) -> None:
    lib = tmp_path / "L"
    (lib / "cam").mkdir(parents=True)
    img = real_photo_images["chelsea"]
    img.save(lib / "cam/IMG_1.mov", "JPEG", quality=95)  # a JPEG, whatever its name
    img.resize((img.width // 2, img.height // 2)).save(lib / "cam/IMG_1.jpg", "JPEG")
    (lib / "cam/IMG_1.xmp").write_text("<x:xmpmeta/>")  # a real sidecar, shared by both
    _index(lib)[0].close()

    done = runner.invoke(app, ["resolve", str(lib), "--all"])

    assert done.exit_code == 0, done.output
    assert "keep cam/IMG_1.mov" in done.output
    assert (lib / "cam/IMG_1.mov").is_file()
    assert not (lib / "cam/IMG_1.jpg").exists()
    # The XMP is named for the keeper's stem too, so it stays with the keeper.
    assert (lib / "cam/IMG_1.xmp").is_file()
    assert done.output.count("  moved ") == 1


def test_undo_never_follows_a_symlinked_folder_out_of_the_library(
    twins: Path, tmp_path: Path, runner: CliRunner
) -> None:
    key = _group_key(runner, twins)
    assert runner.invoke(app, ["resolve", str(twins), key]).exit_code == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (twins / "backup").rmdir()
    (twins / "backup").symlink_to(elsewhere)

    undone = runner.invoke(app, ["undo", str(twins)])

    assert undone.exit_code == 2, undone.output
    assert "symlink" in undone.output and "backup/e.jpg" in undone.output
    assert list(elsewhere.iterdir()) == []
    held = quarantine_root_of(twins) / "backup/e.jpg"
    assert _digest(held) == _digest(twins / "e.jpg")  # still safe in the quarantine
    # Put the real folder back and the same undo succeeds.
    (twins / "backup").unlink()
    assert runner.invoke(app, ["undo", str(twins)]).exit_code == 0
    assert (twins / "backup/e.jpg").is_file() and not held.exists()


def quarantine_root_of(lib: Path) -> Path:
    return lib / ".photodup" / "quarantine"


def test_hard_links_are_the_same_file_not_space_to_free(twins: Path, runner: CliRunner) -> None:
    (twins / "backup/e.jpg").unlink()
    os.link(twins / "e.jpg", twins / "backup/e.jpg")  # one file, two names
    shutil.copy2(twins / "e.jpg", twins / "copy.jpg")  # and one real copy
    store, photos = _index(twins)
    [group] = find_groups(store, FinderSettings(use_embeddings="off"))
    assert group.bytes_reclaimable == photos["copy.jpg"].size  # the link frees nothing
    assert group.to_dict()["same_file_as_keeper"] == ["backup/e.jpg"]
    shown = runner.invoke(app, ["groups", str(twins), "--embeddings", "off"])
    assert shown.exit_code == 0 and "hard link" in shown.output  # said on the member's row

    result = resolve_group(
        store,
        photos["e.jpg"],
        [photos["backup/e.jpg"], photos["copy.jpg"]],
        quarantine=quarantine_root(store),
    )
    assert [m.src_display for m in result.moved] == ["copy.jpg"]
    assert [p.path for p in result.same_file] == ["backup/e.jpg"]
    assert "hard link" in result.same_file[0].reason and not result.problems
    assert os.path.samefile(twins / "e.jpg", twins / "backup/e.jpg")
    store.close()


def test_an_undo_that_restores_nothing_is_a_failure(twins: Path, runner: CliRunner) -> None:
    store, photos = _index(twins)
    result = resolve_group(
        store, photos["e.jpg"], [photos["backup/e.jpg"]], quarantine=quarantine_root(store)
    )
    # What recovery leaves after a crash before the file moved: the move rolled back.
    store.conn.execute("UPDATE moves SET status='failed' WHERE action_id=?", (result.action_id,))
    shutil.move(result.moved[0].dst, twins / "backup/e.jpg")
    store.close()
    before = _snapshot(twins)

    undone = runner.invoke(app, ["undo", str(twins)])

    assert undone.exit_code == 2, undone.output
    assert "nothing restored" in undone.output and "rolled back" in undone.output
    assert "0 file(s) restored" in undone.output
    assert _snapshot(twins) == before
    # It no longer blocks the way: the next undo says there is nothing left.
    assert runner.invoke(app, ["undo", str(twins)]).exit_code == 1


def test_undo_result_of_the_api_names_the_action(twins: Path) -> None:
    store, photos = _index(twins)
    result = resolve_group(
        store, photos["e.jpg"], [photos["backup/e.jpg"]], quarantine=quarantine_root(store)
    )
    store.conn.execute("UPDATE moves SET status='failed' WHERE action_id=?", (result.action_id,))
    undone = undo_action(store)
    assert not undone.complete and undone.restored == []
    assert undone.problems[0].path == f"action {result.action_id}"
    store.close()
