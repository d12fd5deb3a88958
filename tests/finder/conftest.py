"""Fixtures of the finder tests: small real sample libraries and a client for the service."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from photodup.client import InferenceClient
from photodup.finder.sample import SampleLibrary, build_sample_library
from photodup.finder.scan import ScanSummary, scan_library
from photodup.finder.settings import FinderSettings

#: Small on purpose: two CPU cores embed ~30 photos/s when nothing else runs.
SCAN_PHOTOS = ("astronaut", "coffee", "motorcycle_left")
SCAN_KINDS = ("jpeg_q70", "crop_05", "png", "rotate_exif")
SCAN_DISTRACTORS = ("camera", "brick")


def finder_settings(**overrides: object) -> FinderSettings:
    """Defaults, whatever PHOTODUP_* variables the developer exported."""
    base: dict[str, object] = {
        "db_path": None,
        "workers": 2,
        "batch_size": 4,
        "requests_in_flight": 2,
        "backend_wait_s": 5.0,
    }
    base.update(overrides)
    fields = FinderSettings.model_fields
    defaults = {k: f.get_default(call_default_factory=True) for k, f in fields.items()}
    return FinderSettings.model_validate({**defaults, **base})


@pytest.fixture(scope="session")
def sample_template(tmp_path_factory: pytest.TempPathFactory) -> SampleLibrary:
    """Built once; tests that change files get their own copy (``sample_library``)."""
    root = tmp_path_factory.mktemp("sample") / "library"
    return build_sample_library(
        root, photos=SCAN_PHOTOS, kinds=SCAN_KINDS, distractors=SCAN_DISTRACTORS
    )


@pytest.fixture
def sample_library(tmp_path: Path, sample_template: SampleLibrary) -> SampleLibrary:
    root = tmp_path / "library"
    shutil.copytree(sample_template.root, root, copy_function=shutil.copy2)
    return SampleLibrary(root, list(sample_template.files))


@pytest.fixture
def client(pytorch_service: object) -> Iterator[InferenceClient]:
    with InferenceClient(pytorch_service.url, "pytorch") as c:  # type: ignore[attr-defined]
        yield c


@pytest.fixture(scope="session")
def scanned_library(
    tmp_path_factory: pytest.TempPathFactory,
    sample_template: SampleLibrary,
    pytorch_service: object,
) -> tuple[SampleLibrary, ScanSummary]:
    """A copy of the sample library scanned once through the real service (read-only use)."""
    root = tmp_path_factory.mktemp("scanned") / "library"
    shutil.copytree(sample_template.root, root, copy_function=shutil.copy2)
    with InferenceClient(pytorch_service.url, "pytorch") as c:  # type: ignore[attr-defined]
        summary = scan_library(root, c, finder_settings())
    return SampleLibrary(root, list(sample_template.files)), summary
