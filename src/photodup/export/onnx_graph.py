"""Export the OpenCLIP image tower (with its L2 normalisation) to an ONNX graph.

torch 2.14's TorchScript ("legacy") exporter cannot translate the fused multi-head attention
that ``nn.MultiheadAttention`` uses in eval mode (``aten::_native_multi_head_attention``), so
the graph is captured with the dynamo exporter (``torch.export``) and a symbolic batch axis.
"""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

import torch
from torch import nn

from photodup import contract
from photodup.model.openclip import ImageEmbedder

log = logging.getLogger(__name__)


class _HalfVisual(nn.Module):
    """Runs the tower in FP16 while its input and output stay FP32 (the contract's types)."""

    def __init__(self, visual: nn.Module) -> None:
        super().__init__()
        self.visual = visual.half()

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.visual(image.half()).float()


def exportable(embedder: ImageEmbedder, *, fp16: bool) -> nn.Module:
    """The module whose graph is exported: FP32, or FP16 inside with FP32 I/O."""
    if not fp16:
        return embedder
    # The L2 normalisation stays in FP32: half precision would cost accuracy for no speed.
    return ImageEmbedder(_HalfVisual(embedder.visual)).eval()


def export_onnx(module: nn.Module, path: Path, *, opset: int, device: str = "cpu") -> None:
    """Write ``module`` as a single-file ONNX graph with a dynamic batch axis."""
    example = torch.randn(2, *contract.INPUT_SHAPE, device=device)
    batch = torch.export.Dim("batch", min=1, max=4096)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The dynamo exporter prints progress lines on stdout; keep them in the debug log instead.
    chatter = io.StringIO()
    if not log.isEnabledFor(logging.DEBUG):
        # onnxscript's optimiser logs hundreds of INFO lines per export.
        for noisy in ("onnx_ir", "onnxscript"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    with contextlib.redirect_stdout(chatter), torch.no_grad():
        torch.onnx.export(
            module,
            (example,),
            str(path),
            input_names=[contract.INPUT_NAME],
            output_names=[contract.OUTPUT_NAME],
            dynamic_shapes={"image": {0: batch}},
            opset_version=opset,
            dynamo=True,
            external_data=False,
            verbose=False,
        )
    log.debug("torch.onnx: %s", chatter.getvalue().strip())
