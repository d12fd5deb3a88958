"""Decoding photos as they really come, and the one CLIP preprocessing every backend shares."""

from photodup.imaging.decode import ImageDecodeError, PhotoSource, load_photo
from photodup.imaging.preprocess import preprocess, preprocess_batch, preprocess_source

__all__ = [
    "ImageDecodeError",
    "PhotoSource",
    "load_photo",
    "preprocess",
    "preprocess_batch",
    "preprocess_source",
]
