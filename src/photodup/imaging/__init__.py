"""Decoding photos as they really come, and the one CLIP preprocessing every backend shares."""

from photodup.imaging.decode import ImageDecodeError, PhotoSource, load_photo
from photodup.imaging.preprocess import (
    normalise,
    preprocess,
    preprocess_batch,
    preprocess_source,
    preprocess_uint8,
)

__all__ = [
    "ImageDecodeError",
    "PhotoSource",
    "load_photo",
    "normalise",
    "preprocess",
    "preprocess_batch",
    "preprocess_source",
    "preprocess_uint8",
]
