"""``photodup eval`` end to end through the real service, and the scoring arithmetic."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from photodup.cli import app
from photodup.finder.evaluate import score


def test_score_arithmetic() -> None:
    s = score({(1, 2), (3, 4)}, {(1, 2), (5, 6), (7, 8)})
    assert (s.precision, s.recall) == (1 / 3, 1 / 2)
    assert abs(s.f1 - 0.4) < 1e-12
    assert score(set(), set()).f1 == 1.0
    assert score({(1, 2)}, set()).f1 == 0.0


def test_eval_reports_numbers_per_kind_and_signal(pytorch_service: object, tmp_path: Path) -> None:
    out = tmp_path / "eval.json"
    env = {"INFERENCE_SERVICE_URL": pytorch_service.url, "INFERENCE_BACKEND": "pytorch"}  # type: ignore[attr-defined]
    args = ["eval", "--photos", "chelsea,motorcycle_left", "--kinds", "jpeg_q70,crop_30,flip"]
    result = CliRunner().invoke(app, [*args, "--output", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert "random weights" in result.output
    report = json.loads(out.read_text())
    assert report["pretrained"] == "none"
    assert set(report["scores"]) == {"hash", "embedding", "combined", "verified"}
    negatives = {"tile_0", "tile_3", "detail"}
    for kinds in report["scores"].values():
        assert (
            set(kinds) == {"all", "exact_copy", "burst", "jpeg_q70", "crop_30", "flip"} | negatives
        )
        for s in kinds.values():
            for metric in ("precision", "recall", "f1"):
                assert 0.0 <= s[metric] <= 1.0
            assert s["correct_pairs"] <= min(s["true_pairs"], s["predicted_pairs"])
    hashes = report["scores"]["hash"]
    # Re-encodes and byte copies are what hashes find; a mirror image is what they miss.
    assert hashes["jpeg_q70"]["recall"] == 1.0 and hashes["exact_copy"]["recall"] == 1.0
    assert hashes["flip"]["recall"] == 0.0
    # The older rules put the burst (a second shot) into the duplicate group.
    assert hashes["burst"]["predicted_pairs"] > 0
    # Verification (the default offline) finds the mirror and the crop, and nothing false:
    # no hard negative, no burst, no group with two photos in it.
    verified = report["scores"]["verified"]
    assert verified["flip"]["recall"] == 1.0 and verified["crop_30"]["recall"] == 1.0
    assert verified["all"]["precision"] == 1.0 and verified["all"]["recall"] == 1.0
    for kind in (*negatives, "burst"):
        assert verified[kind]["predicted_pairs"] == 0, kind
    assert report["mixed_groups"]["verified"] == 0
    assert report["similar"]["verified"]["correct_pairs"] == 1  # the stereo pair, listed apart
    assert report["candidate_recall"]["flip"] == 1.0
    assert "groups mixing photos" in result.output and "candidate" in result.output
