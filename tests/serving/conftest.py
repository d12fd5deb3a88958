"""Inputs shared by the serving tests: real photos as files and tensors, and the model
built in this process so the service's answers can be checked against it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from fixtures.service import ServiceProcess, start_pytorch_service
from photodup import contract
from photodup.imaging import preprocess_source
from photodup.model.openclip import ImageEmbedder, load_embedder


@pytest.fixture(scope="session")
def photo_bytes(real_photo_files: dict[str, Path]) -> dict[str, bytes]:
    return {name: path.read_bytes() for name, path in real_photo_files.items()}


@pytest.fixture(scope="session")
def photo_tensors(photo_bytes: dict[str, bytes]) -> dict[str, np.ndarray]:
    """The client's preprocessing of each JPEG file: float32 [3, 224, 224]."""
    return {name: preprocess_source(data, name=name) for name, data in photo_bytes.items()}


@pytest.fixture(scope="session")
def reference_embedder() -> ImageEmbedder:
    """The same random weights the service builds (PRETRAINED=none, seed 0), in-process."""
    loaded = load_embedder(
        contract.MODEL_ARCH, contract.PRETRAINED_NONE, seed=contract.DEFAULT_SEED, device="cpu"
    )
    return loaded.embedder


@pytest.fixture(scope="session")
def limited_service() -> Iterator[ServiceProcess]:
    """A service with tiny limits: 20 kB per image, two images queued at most."""
    with start_pytorch_service(MAX_IMAGE_BYTES="20000", MAX_QUEUE_IMAGES="2") as service:
        yield service
