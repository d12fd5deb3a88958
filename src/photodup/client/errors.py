"""What the client returns and raises; every error names the URL, the backend and what to do."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


class InferenceError(RuntimeError):
    """The backend refused or failed a request; the message says why and what to do."""


class BackendUnavailableError(InferenceError):
    """The backend is down, not ready, or refused the connection (after bounded retries)."""


class ShapeMismatchError(InferenceError):
    """The backend answered with a shape the contract does not allow (wrong model or export)."""


class NonFiniteError(InferenceError):
    """Input with NaN, infinity or values beyond ``contract.MAX_ABS_INPUT``, or an output with NaN
    or infinity; ``indices`` are the images concerned. Nothing of the batch is returned."""

    def __init__(self, message: str, indices: list[int]) -> None:
        super().__init__(message)
        self.indices = indices


class RetryableError(Exception):
    """Raised by an adapter for a failure worth retrying (connection refused, 503, UNAVAILABLE)."""


@dataclass(frozen=True)
class ImageError:
    """One input that could not be embedded: its position, name, reason and decoder kind."""

    index: int
    name: str
    reason: str
    kind: str


@dataclass
class EmbedResult:
    """Embeddings of the inputs that worked (rows follow ``ok``) and why the others did not."""

    embeddings: np.ndarray
    ok: list[int] = field(default_factory=list)
    errors: list[ImageError] = field(default_factory=list)
