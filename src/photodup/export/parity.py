"""Check the exported ONNX graph against PyTorch on real photos and random tensors."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from photodup import contract
from photodup.finder.sources import COLOUR_PHOTOS, load_real_photo
from photodup.imaging import preprocess_batch

#: The issue's bar: 0.1% of the output scale, and cosine at least 0.9999 per embedding.
MAX_RELATIVE_DIFF = 1e-3
MIN_COSINE = 0.9999


@dataclass(frozen=True)
class ParityCase:
    name: str
    batch: int
    max_abs_diff: float
    relative_diff: float
    min_cosine: float

    @property
    def ok(self) -> bool:
        return self.relative_diff <= MAX_RELATIVE_DIFF and self.min_cosine >= MIN_COSINE


@dataclass(frozen=True)
class ParityReport:
    cases: list[ParityCase]

    @property
    def ok(self) -> bool:
        return all(case.ok for case in self.cases)

    @property
    def max_abs_diff(self) -> float:
        return max(case.max_abs_diff for case in self.cases)

    @property
    def min_cosine(self) -> float:
        return min(case.min_cosine for case in self.cases)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "max_abs_diff": self.max_abs_diff,
            "min_cosine": self.min_cosine,
            "thresholds": {"max_relative_diff": MAX_RELATIVE_DIFF, "min_cosine": MIN_COSINE},
            "cases": [asdict(case) for case in self.cases],
        }


def compare(name: str, reference: np.ndarray, candidate: np.ndarray) -> ParityCase:
    """Max abs diff (absolute and relative to the reference's scale) and min row cosine."""
    if reference.shape != candidate.shape:
        raise ValueError(f"{name}: shapes differ, {reference.shape} vs {candidate.shape}")
    ref = reference.astype(np.float64)
    cand = candidate.astype(np.float64)
    max_abs = float(np.abs(ref - cand).max())
    scale = max(float(np.abs(ref).max()), 1e-12)
    cos = (ref * cand).sum(1) / (np.linalg.norm(ref, axis=1) * np.linalg.norm(cand, axis=1))
    return ParityCase(name, ref.shape[0], max_abs, max_abs / scale, float(cos.min()))


def parity_inputs(seed: int = 0) -> dict[str, np.ndarray]:
    """Real photos (shared preprocessing) and random tensors at batch 1 and the max batch."""
    photos = preprocess_batch([load_real_photo(name) for name in COLOUR_PHOTOS])
    rng = np.random.default_rng(seed)
    inputs = {"real_photos": photos}
    for batch in (1, contract.MAX_BATCH_SIZE):
        shape = (batch, *contract.INPUT_SHAPE)
        inputs[f"random_batch_{batch}"] = rng.standard_normal(shape).astype(np.float32)
    return inputs


def check_parity(module: nn.Module, onnx_path: Path, *, device: str = "cpu") -> ParityReport:
    """Run every parity input through PyTorch and ONNX Runtime and compare."""
    import onnxruntime as ort

    providers = ["CPUExecutionProvider"]
    if device.startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    session = ort.InferenceSession(str(onnx_path), providers=providers)
    cases = []
    for name, batch in parity_inputs().items():
        with torch.no_grad():
            reference = module(torch.from_numpy(batch).to(device)).float().cpu().numpy()
        (candidate,) = session.run([contract.OUTPUT_NAME], {contract.INPUT_NAME: batch})
        cases.append(compare(name, reference, candidate))
    return ParityReport(cases)
