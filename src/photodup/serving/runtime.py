"""The runtime adapter: the OpenCLIP torch module, its device and ``torch.inference_mode``.

This is the only serving module that touches torch. It is driven from a single worker thread
(the batch scheduler), so the model never runs concurrently with itself.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import torch

from photodup.contract import CHANNELS, EMBED_DIM, IMAGE_SIZE
from photodup.model.openclip import LoadedModel, load_embedder
from photodup.settings import ModelSettings

log = logging.getLogger(__name__)


class TorchRuntime:
    """Runs float32 [N, 3, 224, 224] through the image tower and returns [N, 512] unit vectors."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self._device = torch.device(loaded.device)

    @classmethod
    def load(cls, settings: ModelSettings) -> TorchRuntime:
        loaded = load_embedder(
            settings.model_name,
            settings.pretrained,
            checkpoint=settings.checkpoint,
            seed=settings.seed,
            device=settings.device,
        )
        log.info(
            "loaded %s (%s) on %s in %.1f s",
            loaded.model_name,
            loaded.pretrained,
            loaded.device,
            loaded.load_seconds,
        )
        return cls(loaded)

    @property
    def device(self) -> str:
        return self.loaded.device

    def run(self, batch: np.ndarray) -> np.ndarray:
        if batch.ndim != 4 or batch.shape[1:] != (CHANNELS, IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"model input must be [N, 3, 224, 224], got {batch.shape}")
        # torch refuses to share memory with read-only arrays (np.frombuffer of a request).
        array = batch if batch.flags.writeable else batch.copy()
        with torch.inference_mode():
            tensor = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
            output = self.loaded.embedder(tensor.to(self._device, non_blocking=True))
            result = output.float().cpu().numpy()
        if result.shape != (batch.shape[0], EMBED_DIM):
            raise RuntimeError(f"model returned {result.shape}, expected [{batch.shape[0]}, 512]")
        return result

    def warm_up(self) -> float:
        """Run one image so the first real request does not pay for lazy initialisation."""
        started = time.perf_counter()
        self.run(np.zeros((1, CHANNELS, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32))
        return time.perf_counter() - started
