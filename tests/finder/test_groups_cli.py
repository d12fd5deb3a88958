"""``photodup groups`` and ``photodup skipped`` on a scanned real library."""

from __future__ import annotations

import csv
import io
import json

from typer.testing import CliRunner

from photodup.cli import app
from photodup.finder.export import CSV_COLUMNS
from photodup.finder.sample import SampleLibrary
from photodup.finder.scan import ScanSummary

runner = CliRunner()


def test_groups_json(scanned_library: tuple[SampleLibrary, ScanSummary]) -> None:
    lib, _ = scanned_library
    result = runner.invoke(app, ["groups", str(lib.root), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["count"] == len(data["groups"]) >= 3
    sizes = {}
    for g in data["groups"]:
        members = {m["id"]: m for m in g["members"]}
        assert g["members"][0]["id"] == g["keeper_id"]
        assert g["bytes_reclaimable"] == sum(m["size"] for m in g["members"][1:])
        # Random weights: no embedding link; verification decides.
        assert set(g["signals"]) <= {"sha256", "phash", "verified"}
        for pair in g["pairs"]:
            assert pair["a"] in members and pair["b"] in members
            assert pair["kind"] in ("exact", "same", "edited", "cropped", "mirrored_rotated")
            if pair["signal"] == "verified":
                assert pair["evidence"]["inliers"] >= 15 and "matching points" in pair["why"]
        sizes[g["key"]] = len(members)
    assert data["bytes_reclaimable"] == sum(g["bytes_reclaimable"] for g in data["groups"])
    astronaut = next(g for g in data["groups"] if "originals/astronaut.jpg" in str(g["members"]))
    paths = {m["path"] for m in astronaut["members"]}
    assert "backup/astronaut.jpg" in paths and "copies/png/astronaut.png" in paths
    assert not any("burst/" in str(g["members"]) for g in data["groups"])
    shots = json.loads(runner.invoke(app, ["groups", str(lib.root), "--json", "--similar"]).stdout)
    assert shots["count"] == 1 and "burst/motorcycle_right.jpg" in str(shots["groups"][0])
    assert shots["groups"][0]["kind"] == "similar"


def test_groups_csv_and_table(scanned_library: tuple[SampleLibrary, ScanSummary]) -> None:
    lib, _ = scanned_library
    as_json = json.loads(runner.invoke(app, ["groups", str(lib.root), "--json"]).stdout)
    result = runner.invoke(app, ["groups", str(lib.root), "--csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == sum(len(g["members"]) for g in as_json["groups"])
    assert sum(r["role"] == "keep" for r in rows) == as_json["count"]
    table = runner.invoke(app, ["groups", str(lib.root)])
    assert table.exit_code == 0 and f"{as_json['count']} groups" in table.stdout
    assert "similar shots" in table.stdout and "--similar" in table.stdout


def test_groups_without_index_says_to_scan(tmp_path: object) -> None:
    result = runner.invoke(app, ["groups", str(tmp_path)])
    assert result.exit_code == 1 and "photodup scan" in result.output


def test_skipped_lists_reasons(scanned_library: tuple[SampleLibrary, ScanSummary]) -> None:
    lib, _ = scanned_library
    result = runner.invoke(app, ["skipped", str(lib.root), "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["path"]: r for r in json.loads(result.stdout)}
    assert rows["incoming/empty.jpg"]["kind"] == "empty"
    assert rows["incoming/truncated.jpg"]["kind"] == "truncated"
    assert rows["incoming/notes.jpg"]["kind"] == "not_an_image"
    table = runner.invoke(app, ["skipped", str(lib.root)])
    assert "incoming/truncated.jpg" in table.stdout
