"""Build the OpenCLIP image encoder that every backend runs.

``ImageEmbedder`` wraps ``encode_image`` and L2-normalises inside the module, so the exported
ONNX graph and the PyTorch service return the same unit vectors (the earlier public version
skipped this on one path; never again).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from photodup.contract import PRETRAINED_NONE

log = logging.getLogger(__name__)


class WeightsUnavailableError(RuntimeError):
    """The requested pretrained weights could not be loaded (offline, bad tag or bad file)."""


class ImageEmbedder(nn.Module):
    """image FP32 [N, 3, 224, 224] -> embedding FP32 [N, 512], L2-normalised."""

    def __init__(self, visual: nn.Module) -> None:
        super().__init__()
        self.visual = visual

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        features = self.visual(image)
        return features / features.norm(dim=-1, keepdim=True).clamp_min(1e-12)


@dataclass(frozen=True)
class LoadedModel:
    embedder: ImageEmbedder
    model_name: str
    pretrained: str
    device: str
    load_seconds: float


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("DEVICE=cuda was asked for but torch sees no CUDA device")
    return device


def pretrained_tag(pretrained: str, checkpoint: Path | None) -> str:
    """The tag recorded with every embedding: the checkpoint's file name wins over the tag."""
    return f"file:{checkpoint.name}" if checkpoint is not None else pretrained


def load_embedder(
    model_name: str,
    pretrained: str,
    *,
    checkpoint: Path | None = None,
    seed: int = 0,
    device: str = "cpu",
) -> LoadedModel:
    """Create the image tower in eval mode on ``device``.

    ``pretrained='none'`` builds random weights from ``seed`` (identical in every process);
    ``checkpoint`` loads a local weights file; any other tag goes through open_clip's normal
    download path and raises :class:`WeightsUnavailableError` when that fails.
    """
    import time

    import open_clip

    started = time.perf_counter()
    source: str | None
    if checkpoint is not None:
        if not checkpoint.is_file():
            raise WeightsUnavailableError(f"checkpoint file not found: {checkpoint}")
        source = str(checkpoint)
    elif pretrained.lower() == PRETRAINED_NONE:
        source = None
    else:
        source = pretrained
    torch.manual_seed(seed)
    try:
        model = open_clip.create_model(model_name, pretrained=source, device="cpu")
    except Exception as exc:  # open_clip raises many kinds; all mean "no weights"
        raise WeightsUnavailableError(
            f"could not load {model_name} weights {source!r}: {exc}. "
            "Without network access use pretrained=none (random weights) or --checkpoint PATH."
        ) from exc
    visual = model.visual
    del model  # the text tower is never used
    embedder = ImageEmbedder(visual).eval().to(resolve_device(device))
    for param in embedder.parameters():
        param.requires_grad_(False)
    return LoadedModel(
        embedder=embedder,
        model_name=model_name,
        pretrained=pretrained_tag(pretrained, checkpoint),
        device=str(next(embedder.parameters()).device),
        load_seconds=time.perf_counter() - started,
    )
