"""Impossible option combinations fail at once, with a message that says what to change."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from photodup.export import ExportError, ExportOptions, export_repository


def test_fp16_without_cuda_is_refused_before_any_work(tmp_path: Path) -> None:
    options = ExportOptions(pretrained="none", output=tmp_path / "repo", fp16=True)
    with pytest.raises(ExportError, match=r"--fp16.*no CUDA device") as err:
        export_repository(options, cuda_available=lambda: False)
    assert "Drop --fp16" in str(err.value)
    assert not (tmp_path / "repo").exists()


def test_fp16_with_cpu_instances_is_refused() -> None:
    options = ExportOptions(fp16=True, instance_kind="cpu")
    with pytest.raises(ExportError, match="--instance-kind gpu"):
        options.validate(cuda_available=True)


@pytest.mark.parametrize(
    ("backend", "kind"), [("python", "gpu"), ("python", "cpu"), ("onnxruntime", "cpu")]
)
def test_tensorrt_needs_onnxruntime_on_gpu(backend: str, kind: str) -> None:
    options = ExportOptions(tensorrt=True, triton_backend=backend, instance_kind=kind)  # type: ignore[arg-type]
    with pytest.raises(ExportError, match="--tensorrt") as err:
        options.validate(cuda_available=True)
    assert f"--triton-backend {backend} --instance-kind {kind}" in str(err.value)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("triton_backend", "tensorflow", "onnxruntime"),
        ("instance_kind", "tpu", "gpu"),
        ("max_batch_size", 0, "between 1 and 32"),
        ("max_batch_size", 64, "between 1 and 32"),
        ("checkpoint", Path("/nonexistent/weights.pt"), "is not a file"),
    ],
)
def test_bad_values_name_the_option(field: str, value: object, expected: str) -> None:
    options = ExportOptions(**{field: value})  # type: ignore[arg-type]
    with pytest.raises(ExportError, match=expected):
        options.validate(cuda_available=False)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--triton-backend", "python", "--tensorrt"], "error: --tensorrt"),
        (["--triton-backend", "onnxruntime", "--fp16"], "error: --fp16"),
    ],
)
def test_the_command_exits_non_zero_with_the_message(
    tmp_path: Path, flags: list[str], message: str
) -> None:
    if "--fp16" in flags and torch.cuda.is_available():
        pytest.skip("this machine has CUDA, so --fp16 is allowed here")
    out = tmp_path / "repo"
    cmd = [sys.executable, "-m", "photodup.cli", "export", "--pretrained", "none"]
    result = subprocess.run(
        [*cmd, "--output", str(out), *flags], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1, result.stderr
    assert message in result.stderr
    assert not out.exists()


def test_the_command_reports_both_models_with_their_parity(tmp_path: Path) -> None:
    out = tmp_path / "repo"
    cmd = [sys.executable, "-m", "photodup.cli", "export", "--pretrained", "none"]
    result = subprocess.run(
        [*cmd, "--output", str(out)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    for model in ("openclip_vit_b32", "openclip_vit_b32_uint8"):
        line = f"{out / model / '1'}: exported"
        assert line in result.stdout, result.stdout
    # three parity cases per model, each with its figures
    assert result.stdout.count("  parity ") == 6, result.stdout
    assert result.stdout.count("min cosine") == 6, result.stdout
