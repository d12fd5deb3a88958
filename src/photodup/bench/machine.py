"""What the numbers were measured on: CPU, cores, memory, load, GPU, library versions."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

_PACKAGES = (
    "photodup",
    "torch",
    "open_clip_torch",
    "onnxruntime",
    "onnx",
    "numpy",
    "tritonclient",
    "nvidia-pytriton",
    "fastapi",
    "uvicorn",
    "httpx",
    "pillow",
    "nvidia-ml-py",
)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def memory_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except (OSError, ValueError):
        pass
    return None


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def gpu_info() -> dict[str, Any]:
    """Name, driver and memory of each GPU NVML sees, or why there is none."""
    try:
        import pynvml
    except ImportError as exc:
        return {"available": False, "reason": f"nvidia-ml-py not importable: {exc}", "devices": []}
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return {"available": False, "reason": f"NVML unavailable: {exc}", "devices": []}
    try:
        driver = pynvml.nvmlSystemGetDriverVersion()
        devices = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            devices.append(
                {
                    "index": i,
                    "name": pynvml.nvmlDeviceGetName(handle),
                    "memory_gib": round(pynvml.nvmlDeviceGetMemoryInfo(handle).total / 1024**3, 1),
                }
            )
        if not devices:
            return {"available": False, "reason": "NVML reports no GPU", "devices": []}
        return {"available": True, "driver": driver, "devices": devices}
    finally:
        pynvml.nvmlShutdown()


def cuda_available() -> tuple[bool, str]:
    """Whether torch can use CUDA here, with the reason when it cannot."""
    import torch

    if torch.cuda.is_available():
        return True, torch.cuda.get_device_name(0)
    return False, "torch.cuda.is_available() is False (no GPU or no CUDA driver)"


def machine_info() -> dict[str, Any]:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    return {
        "hostname": platform.node(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "cpu_model": cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "memory_gib": memory_total_gib(),
        "gpu": gpu_info(),
        "versions": package_versions(),
    }
