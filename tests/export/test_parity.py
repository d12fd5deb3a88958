"""The exported graph against PyTorch, and the comparison itself able to fail."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from photodup import contract
from photodup.export.parity import check_parity, compare
from photodup.model.openclip import load_embedder


@pytest.fixture(scope="module")
def torch_embedder() -> torch.nn.Module:
    return load_embedder(contract.MODEL_ARCH, contract.PRETRAINED_NONE, seed=0).embedder


@pytest.mark.slow
def test_onnx_matches_pytorch_at_batch_1_and_32_and_on_photos(
    model_repository: Path, torch_embedder: torch.nn.Module
) -> None:
    onnx_path = model_repository / contract.TRITON_MODEL_NAME / "1" / "model.onnx"
    report = check_parity(torch_embedder, onnx_path)
    assert report.ok, report.as_json()
    assert {case.batch for case in report.cases} >= {1, contract.MAX_BATCH_SIZE}
    assert report.min_cosine >= 0.9999
    assert report.max_abs_diff <= 1e-4  # unit vectors; measured ~2e-7


def test_dynamic_batch_axis_accepts_any_batch(model_repository: Path) -> None:
    onnx_path = model_repository / contract.TRITON_MODEL_NAME / "1" / "model.onnx"
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1)
    single = rng.standard_normal((1, *contract.INPUT_SHAPE)).astype(np.float32)
    for batch in (1, 3):
        x = np.repeat(single, batch, axis=0)
        (out,) = session.run([contract.OUTPUT_NAME], {contract.INPUT_NAME: x})
        assert out.shape == (batch, contract.EMBED_DIM)
        # L2 normalisation is inside the graph.
        np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
        np.testing.assert_allclose(out, np.repeat(out[:1], batch, axis=0), atol=1e-5)


def test_compare_flags_a_real_difference() -> None:
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((4, contract.EMBED_DIM)).astype(np.float32)
    assert compare("same", ref, ref.copy()).ok
    nudged = ref.copy()
    nudged[2, 7] += 0.01 * np.abs(ref).max()  # 1% of the scale: ten times the allowed 0.1%
    case = compare("nudged", ref, nudged)
    assert not case.ok
    assert case.relative_diff == pytest.approx(0.01, rel=1e-3)
    flipped = ref.copy()
    flipped[0] = -flipped[0]
    assert compare("flipped", ref, flipped).min_cosine == pytest.approx(-1.0, abs=1e-6)
