"""Small helpers shared by the client tests."""

from __future__ import annotations

import time

import httpx
import numpy as np

from photodup.settings import ClientSettings


def client_settings(**fields: object) -> ClientSettings:
    """Defaults (not the developer's environment) with ``fields`` changed."""
    return ClientSettings.model_construct().model_copy(update=fields)


def triton_counts(http_url: str, model: str) -> tuple[int, int]:
    """(inference_count, execution_count) from Triton's statistics API."""
    stats = httpx.get(f"{http_url}/v2/models/{model}/stats", timeout=10).json()
    (entry,) = stats["model_stats"]
    return int(entry["inference_count"]), int(entry["execution_count"])


def triton_counts_reaching(
    http_url: str, model: str, inferences: int, timeout_s: float = 10.0
) -> tuple[int, int]:
    """``triton_counts`` once ``inference_count`` reaches ``inferences`` (or at the timeout).

    Triton records a request's statistics after its response has gone out, so counts read
    the moment the last answer arrives can still miss the last batch."""
    deadline = time.monotonic() + timeout_s
    counts = triton_counts(http_url, model)
    while counts[0] < inferences and time.monotonic() < deadline:
        time.sleep(0.05)
        counts = triton_counts(http_url, model)
    return counts


def triton_counts_settled(
    http_url: str, model: str, quiet_s: float = 0.3, timeout_s: float = 10.0
) -> tuple[int, int]:
    """``triton_counts`` once they have stopped changing for ``quiet_s`` (earlier requests'
    statistics recorded), so a count taken before a request is not short of a late batch."""
    deadline = time.monotonic() + timeout_s
    counts = triton_counts(http_url, model)
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        again = triton_counts(http_url, model)
        if again == counts:
            break
        counts = again
    return counts


def triton_batch_sizes(http_url: str, model: str) -> dict[int, int]:
    """Executions by batch size so far, from Triton's statistics API (``batch_stats``)."""
    stats = httpx.get(f"{http_url}/v2/models/{model}/stats", timeout=10).json()
    (entry,) = stats["model_stats"]
    return {
        int(b["batch_size"]): int(b["compute_infer"]["count"]) for b in entry.get("batch_stats", [])
    }


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return (a64 * b64).sum(1) / (np.linalg.norm(a64, axis=1) * np.linalg.norm(b64, axis=1))
