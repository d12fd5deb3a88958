"""The exported repository: manifest, parity figures, idempotence, reuse and new versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixtures.models import copy_repository, none_export_options
from photodup import contract
from photodup.export import ExportResult, export_repository
from photodup.export.options import file_sha256

MODEL = contract.TRITON_MODEL_NAME


def test_layout_and_manifest(model_export: ExportResult) -> None:
    version_dir = model_export.version_dir
    # (Triton's Python stub may add __pycache__ once it has served this repository.)
    files = {p.name for p in version_dir.iterdir() if p.name != "__pycache__"}
    assert files == {"model.onnx", "model.py", "manifest.json"}
    manifest = json.loads((version_dir / "manifest.json").read_text())
    assert manifest["model"] == contract.MODEL_ARCH
    assert manifest["pretrained"] == "none"
    assert manifest["opset"] == contract.ONNX_OPSET
    assert manifest["onnx_sha256"] == file_sha256(version_dir / "model.onnx")
    assert manifest["onnx_bytes"] == (version_dir / "model.onnx").stat().st_size
    assert set(manifest["versions"]) >= {"torch", "open_clip_torch", "onnx", "onnxruntime"}
    assert manifest["options"]["triton_backend"] == "python"
    assert manifest["created"]
    # model.py is the package's module, copied verbatim rather than generated per export.
    source = Path(__file__).parents[2] / "src/photodup/export/python_model.py"
    assert (version_dir / "model.py").read_bytes() == source.read_bytes()


def test_parity_figures_are_recorded_and_within_bounds(model_export: ExportResult) -> None:
    parity = model_export.manifest["parity"]
    assert parity["ok"] is True
    cases = {case["name"]: case for case in parity["cases"]}
    assert set(cases) == {"real_photos", "random_batch_1", "random_batch_32"}
    assert cases["random_batch_1"]["batch"] == 1
    assert cases["random_batch_32"]["batch"] == contract.MAX_BATCH_SIZE
    for case in cases.values():
        # FP32 ONNX Runtime vs PyTorch measured ~2e-7 here; the gate is 0.1% of the scale.
        assert case["relative_diff"] <= 1e-3
        assert case["min_cosine"] >= 0.9999


def test_same_inputs_do_nothing(model_repository: Path, tmp_path: Path) -> None:
    repo = copy_repository(model_repository, tmp_path / "repo")
    onnx = repo / MODEL / "1" / "model.onnx"
    before = onnx.stat().st_mtime_ns, (repo / MODEL / "config.pbtxt").stat().st_mtime_ns
    result = export_repository(none_export_options(repo))
    assert result.skipped
    assert result.version == 1
    after = onnx.stat().st_mtime_ns, (repo / MODEL / "config.pbtxt").stat().st_mtime_ns
    assert before == after


def test_the_command_says_nothing_to_do(model_repository: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    repo = copy_repository(model_repository, tmp_path / "repo")
    cmd = [sys.executable, "-m", "photodup.cli", "export", "--pretrained", "none"]
    flags = ["--output", str(repo), "--triton-backend", "python", "--instance-kind", "cpu"]
    result = subprocess.run([*cmd, *flags], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "nothing to do" in result.stdout
    assert "min cosine" in result.stdout


def test_a_damaged_graph_is_rebuilt(model_repository: Path, tmp_path: Path) -> None:
    """The sha256 in the manifest guards the skip: a changed file is not trusted."""
    repo = copy_repository(model_repository, tmp_path / "repo")
    onnx = repo / MODEL / "1" / "model.onnx"
    good = file_sha256(onnx)
    onnx.unlink()  # break the hard link before writing, the cache stays intact
    onnx.write_bytes(b"garbage")
    result = export_repository(none_export_options(repo))
    assert not result.skipped and not result.reused_onnx
    assert file_sha256(onnx) == good  # pretrained=none is seeded: same weights, same bytes


def test_switching_backend_reuses_the_checked_graph(model_repository: Path, tmp_path: Path) -> None:
    repo = copy_repository(model_repository, tmp_path / "repo")
    result = export_repository(
        none_export_options(repo, triton_backend="onnxruntime", instance_kind="gpu")
    )
    assert not result.skipped and result.reused_onnx
    assert result.version == 1
    files = {p.name for p in (repo / MODEL / "1").iterdir()}
    assert files == {"model.onnx", "manifest.json"}  # no stale model.py for the ORT backend
    assert 'platform: "onnxruntime_onnx"' in (repo / MODEL / "config.pbtxt").read_text()
    assert result.manifest["parity"]["ok"]


def test_new_version_writes_the_next_directory(model_repository: Path, tmp_path: Path) -> None:
    repo = copy_repository(model_repository, tmp_path / "repo")
    result = export_repository(none_export_options(repo, new_version=True))
    assert result.version == 2
    assert (repo / MODEL / "1" / "model.onnx").is_file()  # the served version stays
    second = json.loads((repo / MODEL / "2" / "manifest.json").read_text())
    first = json.loads((repo / MODEL / "1" / "manifest.json").read_text())
    assert second["version"] == 2
    assert second["onnx_sha256"] == first["onnx_sha256"]
    assert not [p for p in (repo / MODEL).iterdir() if p.name.startswith(".")]
    again = export_repository(none_export_options(repo))
    assert again.skipped and again.version == 2


@pytest.mark.slow
def test_force_exports_again(model_repository: Path, tmp_path: Path) -> None:
    repo = copy_repository(model_repository, tmp_path / "repo")
    result = export_repository(none_export_options(repo, force=True))
    assert not result.skipped and not result.reused_onnx
    assert result.manifest["export_seconds"] > 0
    assert result.manifest["parity"]["ok"]
