"""How much the bench measures: named profiles, overridden by command-line options."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

BackendChoice = Literal["pytorch", "triton", "both"]

#: Concurrency levels always measured; ``--concurrency`` adds its value when it is not here.
BASE_LEVELS = (1, 2, 4, 8, 16)


@dataclass(frozen=True)
class Profile:
    name: str
    #: sequential single-image requests per latency series
    iterations: int
    batch_sizes: tuple[int, ...]
    #: requests per batch size (served and raw engines alike)
    batch_iterations: int
    concurrency_levels: tuple[int, ...]
    #: timed single-image requests per concurrency level (at least 4 per worker)
    concurrent_requests: int
    #: requests per transport path, each of ``transport_batch`` images
    transport_requests: int
    transport_batch: int
    #: untimed requests before each series, excluded and counted separately
    warmup: int
    image_count: int


PROFILES = {
    # ~1-2 minutes on 2 shared cores: every phase runs, few samples; for smoke tests.
    "quick": Profile("quick", 5, (1, 4), 3, (1, 2, 4), 8, 2, 2, 1, 4),
    # ~10 minutes on 2 cores: every batch size and concurrency level, modest sample counts.
    "medium": Profile("medium", 30, (1, 4, 8, 16, 32), 6, BASE_LEVELS, 48, 4, 8, 2, 12),
    "full": Profile("full", 50, (1, 4, 8, 16, 32), 20, BASE_LEVELS, 96, 10, 8, 3, 16),
}


@dataclass(frozen=True)
class BenchConfig:
    profile: Profile
    backend: BackendChoice = "both"
    output: Path | None = None
    results_dir: Path = Path("bench/results")
    url_pytorch: str | None = None
    url_triton: str | None = None
    triton_grpc_url: str | None = None
    triton_metrics_url: str | None = None
    start_local: bool = False
    images_dir: Path | None = None
    pretrained: str = "none"
    model_repository: Path | None = None
    cache_dir: Path = Path(".cache/bench")
    #: measure the exporter's fp16 model and TensorRT when a GPU is present
    gpu_variants: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def backends(self) -> list[str]:
        return ["pytorch", "triton"] if self.backend == "both" else [self.backend]

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, Path):
                out[key] = str(value)
        return out


def build_profile(
    name: str,
    *,
    iterations: int | None = None,
    batch_sizes: list[int] | None = None,
    concurrency: int | None = None,
) -> Profile:
    """The named profile with the command line's overrides applied."""
    base = PROFILES[name]
    levels = base.concurrency_levels
    if concurrency is not None:
        if concurrency < 1:
            raise ValueError("--concurrency must be at least 1")
        levels = tuple(sorted({*(lv for lv in levels if lv <= concurrency), concurrency}))
    if batch_sizes is not None and (not batch_sizes or min(batch_sizes) < 1):
        raise ValueError("--batch-sizes must be positive integers, e.g. 1,8,32")
    if iterations is not None and iterations < 1:
        raise ValueError("--iterations must be at least 1")
    return replace(
        base,
        iterations=iterations or base.iterations,
        batch_sizes=tuple(sorted(set(batch_sizes))) if batch_sizes else base.batch_sizes,
        concurrency_levels=levels,
    )
