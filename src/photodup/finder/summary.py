"""What a scan reports: counts, per-stage seconds, and the memory window it kept to."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

#: Called with (files finished, files to finish) as the scan advances.
ProgressFn = Callable[[int, int], None]

#: Stages timed in the main process (seconds, wall clock). ``request`` is summed over the
#: requests in flight, so it can exceed the scan's duration; ``wait`` is the time the main
#: loop sat blocked with nothing to do (waiting for a worker or for the backend).
MAIN_STAGES = ("walk", "plan", "batch", "request", "commit", "wait")


class EmbeddingClient(Protocol):
    """The part of ``photodup.client.InferenceClient`` the scan uses."""

    backend: str
    url: str

    def embed_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 [N, 3, 224, 224] -> [N, 512]; normalised in Triton's graph or client-side."""
        ...

    def wait_until_ready(self, timeout_s: float) -> None: ...
    def server_info(self) -> dict[str, Any]: ...


class ScanError(RuntimeError):
    """The scan had to stop (backend gone); everything committed before stays in the index."""


@dataclass
class ScanSummary:
    library: Path
    run_id: int = 0
    files_seen: int = 0
    unchanged: int = 0
    #: Photos indexed with an embedding in this scan, reused ones included.
    embedded: int = 0
    #: Of those, photos whose content (same SHA-256) was already embedded, in the index or
    #: earlier in this scan: not decoded and not sent to the backend.
    reused: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    removed: int = 0
    ignored: int = 0  # files that are not images and have no image extension
    seconds: float = 0.0
    state: str = "running"
    error: str | None = None
    #: Seconds per stage: the workers' (summed over workers) and the main process's.
    stages: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    #: Embedding requests sent.
    requests: int = 0
    #: The most model inputs (decoded photos) alive at once, and the bound they keep to.
    peak_tensors: int = 0
    tensor_window: int = 0

    @property
    def photos_per_s(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0

    @property
    def computed(self) -> int:
        """Photos decoded and embedded in this scan (not reused)."""
        return self.embedded - self.reused
