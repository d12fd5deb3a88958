"""GPU utilisation sampled by NVML in a background thread, or the reason it could not be.

Started around each measured phase; on a machine without a GPU (or without NVML) it records
``available: false`` with the reason instead of inventing zeros.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

import numpy as np


class GpuSampler:
    """Context manager: samples GPU and memory utilisation of every GPU every ``interval_s``."""

    def __init__(self, interval_s: float = 0.1) -> None:
        self.interval_s = interval_s
        self.reason: str | None = None
        self._gpu: list[float] = []
        self._mem: list[float] = []
        self._mem_used_gib: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._nvml: Any = None
        self._handles: list[Any] = []

    def __enter__(self) -> GpuSampler:
        try:
            import pynvml

            pynvml.nvmlInit()
            count = pynvml.nvmlDeviceGetCount()
        except Exception as exc:  # ImportError, NVMLError_LibraryNotFound, DriverNotLoaded...
            self.reason = f"NVML unavailable: {exc}"
            return self
        if count == 0:
            self.reason = "NVML reports no GPU"
            pynvml.nvmlShutdown()
            return self
        self._nvml = pynvml
        self._handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        self._thread = threading.Thread(target=self._run, name="gpu-sampler", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        nvml = self._nvml
        while not self._stop.wait(self.interval_s):
            for handle in self._handles:
                try:
                    rates = nvml.nvmlDeviceGetUtilizationRates(handle)
                    mem = nvml.nvmlDeviceGetMemoryInfo(handle)
                except nvml.NVMLError as exc:
                    self.reason = f"NVML sampling failed: {exc}"
                    return
                self._gpu.append(float(rates.gpu))
                self._mem.append(float(rates.memory))
                self._mem_used_gib.append(mem.used / 1024**3)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._nvml is not None:
            self._nvml.nvmlShutdown()

    def summary(self) -> dict[str, Any]:
        if not self._gpu:
            return {
                "available": False,
                "reason": self.reason or "no samples taken (phase too short)",
            }
        gpu = np.asarray(self._gpu)
        return {
            "available": True,
            "samples": int(gpu.size),
            "interval_s": self.interval_s,
            "gpu_util_mean_pct": float(gpu.mean()),
            "gpu_util_max_pct": float(gpu.max()),
            "mem_util_mean_pct": float(np.mean(self._mem)),
            "mem_used_max_gib": float(np.max(self._mem_used_gib)),
        }
