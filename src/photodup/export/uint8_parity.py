"""Check the uint8 model against the fp32 model it was built from, in ONNX Runtime."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from photodup import contract
from photodup.export.parity import ParityReport, compare
from photodup.finder.sources import COLOUR_PHOTOS, load_real_photo
from photodup.imaging.preprocess import normalise, preprocess_uint8


def uint8_parity_inputs(seed: int = 0) -> dict[str, np.ndarray]:
    """Real photos' cropped pixels, and random pixels at batch 1 and the max batch."""
    photos = np.stack([preprocess_uint8(load_real_photo(name)) for name in COLOUR_PHOTOS])
    rng = np.random.default_rng(seed)
    inputs = {"real_photos": photos}
    for batch in (1, contract.MAX_BATCH_SIZE):
        shape = (batch, *contract.INPUT_SHAPE)
        inputs[f"random_pixels_{batch}"] = rng.integers(0, 256, shape, dtype=np.uint8)
    return inputs


def check_uint8_parity(fp32_onnx: Path, uint8_onnx: Path) -> ParityReport:
    """fp32 graph on normalised pixels vs the uint8 graph on the raw pixels."""
    import onnxruntime as ort

    fp32 = ort.InferenceSession(str(fp32_onnx), providers=["CPUExecutionProvider"])
    uint8 = ort.InferenceSession(str(uint8_onnx), providers=["CPUExecutionProvider"])
    cases = []
    for name, pixels in uint8_parity_inputs().items():
        (reference,) = fp32.run([contract.OUTPUT_NAME], {contract.INPUT_NAME: normalise(pixels)})
        (candidate,) = uint8.run([contract.OUTPUT_NAME], {contract.UINT8_INPUT_NAME: pixels})
        cases.append(compare(name, reference, candidate))
    return ParityReport(cases)
