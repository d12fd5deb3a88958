"""One client for every inference backend, picked by INFERENCE_BACKEND and INFERENCE_SERVICE_URL."""

from photodup.client.client import InferenceClient
from photodup.client.errors import (
    BackendUnavailableError,
    EmbedResult,
    ImageError,
    InferenceError,
    NonFiniteError,
    ShapeMismatchError,
)

__all__ = [
    "BackendUnavailableError",
    "EmbedResult",
    "ImageError",
    "InferenceClient",
    "InferenceError",
    "NonFiniteError",
    "ShapeMismatchError",
]
