"""The loaded model behind the service: its lifecycle (loading, ready, failed) and its queue.

The lifespan starts :meth:`EmbeddingEngine.load` on a background thread so ``/health``
answers at once and ``/ready`` turns 200 only once the model is built and warmed up.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from photodup.contract import EMBED_DIM
from photodup.serving.batching import BatchScheduler
from photodup.serving.embedding import check_embeddings
from photodup.serving.errors import unavailable
from photodup.serving.metrics import ServiceMetrics
from photodup.settings import ServiceSettings

log = logging.getLogger(__name__)

Status = Literal["loading", "ready", "failed", "stopped"]


class EmbeddingEngine:
    def __init__(
        self,
        settings: ServiceSettings,
        metrics: ServiceMetrics,
        on_load_failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.status: Status = "loading"
        self.error: str | None = None
        self.device: str | None = None
        self.pretrained: str | None = None
        self.load_seconds: float | None = None
        self._on_load_failed = on_load_failed
        self._scheduler: BatchScheduler | None = None
        self._lock = threading.Lock()

    def start_loading(self) -> threading.Thread:
        # A daemon thread: a shutdown during a slow weights download must not hang the exit.
        thread = threading.Thread(target=self.load, name="photodup-model-loader", daemon=True)
        thread.start()
        return thread

    def load(self) -> None:
        """Build the model, warm it up and start the batch worker (blocking)."""
        from photodup.serving.runtime import TorchRuntime  # torch is imported only here

        try:
            runtime = TorchRuntime.load(self.settings)
            warm_s = runtime.warm_up()
        except Exception as exc:
            log.error("the model could not be loaded: %s", exc)
            self.status, self.error = "failed", str(exc)
            if self._on_load_failed is not None:
                self._on_load_failed(exc)
            return
        scheduler = BatchScheduler(
            runtime.run,
            max_batch_size=self.settings.max_batch_size,
            batching=self.settings.batching,
            window_s=self.settings.batch_window_ms / 1000.0,
            max_queue_images=self.settings.max_queue_images,
            on_batch=self.metrics.observe_batch,
        )
        with self._lock:
            if self.status == "stopped":
                return
            scheduler.start()
            self._scheduler = scheduler
            self.device = runtime.device
            self.pretrained = runtime.loaded.pretrained
            self.load_seconds = runtime.loaded.load_seconds
            self.status = "ready"
        self.metrics.load_seconds.set(runtime.loaded.load_seconds)
        self.metrics.queued_images.set_function(lambda: scheduler.queued_images)
        self.metrics.ready.set(1)
        log.info(
            "ready: batching=%s window=%.1f ms max_batch=%d (warm-up %.2f s)",
            self.settings.batching,
            self.settings.batch_window_ms,
            self.settings.max_batch_size,
            warm_s,
        )

    def stop(self) -> None:
        with self._lock:
            scheduler, self._scheduler = self._scheduler, None
            if self.status != "failed":  # the serve command exits 1 on a failed load
                self.status = "stopped"
        self.metrics.ready.set(0)
        if scheduler is not None:
            scheduler.stop()

    async def embed(self, batch: np.ndarray) -> np.ndarray:
        """Queue ``batch`` and wait for its [N, 512] embeddings without blocking the loop."""
        scheduler = self._scheduler
        if scheduler is None:
            raise unavailable(self._not_ready_reason(), "not_ready")
        embeddings = await asyncio.wrap_future(scheduler.submit(batch))
        return check_embeddings(embeddings, batch)

    def _not_ready_reason(self) -> str:
        if self.status == "loading":
            return "the model is still loading; poll GET /ready and retry"
        if self.status == "failed":
            return f"the model failed to load: {self.error}"
        return "the service is shutting down"

    def info(self) -> dict[str, Any]:
        s = self.settings
        return {
            "backend": "pytorch",
            "status": self.status,
            "error": self.error,
            "model_name": s.model_name,
            "pretrained": self.pretrained,
            "device": self.device,
            "dim": EMBED_DIM,
            "max_batch_size": s.max_batch_size,
            "batching": s.batching,
            "batch_window_ms": s.batch_window_ms,
            "max_queue_images": s.max_queue_images,
            "max_image_bytes": s.max_image_bytes,
            "load_seconds": self.load_seconds,
        }
