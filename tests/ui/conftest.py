"""A real scanned sample library, the real web app under uvicorn, and headless Chromium."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.service import ServiceProcess
from photodup.client import InferenceClient
from photodup.finder.sample import build_sample_library
from photodup.finder.scan import scan_library
from ui.helpers import UiServer, finder_settings, serve_ui

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Three real photos with two derived copies and a byte-identical backup each: three groups
#: of four, plus two unrelated photos and three broken files for the skipped list.
SAMPLE_PHOTOS = ("astronaut", "chelsea", "coffee")
SAMPLE_KINDS = ("jpeg_q70", "resize_50")


@pytest.fixture(scope="session")
def scanned_template(
    tmp_path_factory: pytest.TempPathFactory, pytorch_service: ServiceProcess
) -> Path:
    """A sample library scanned once through the real PyTorch service (random weights)."""
    root = tmp_path_factory.mktemp("ui_template") / "library"
    build_sample_library(
        root,
        photos=SAMPLE_PHOTOS,
        kinds=SAMPLE_KINDS,
        distractors=("camera", "moon"),
        burst=False,
    )
    with InferenceClient(pytorch_service.url, "pytorch") as client:
        summary = scan_library(root, client, finder_settings())
    assert summary.state == "completed" and summary.embedded == 14, summary
    return root


@pytest.fixture
def library(scanned_template: Path, tmp_path: Path) -> Path:
    """A private copy of the scanned library (index included: it stores relative paths)."""
    dest = tmp_path / "library"
    shutil.copytree(scanned_template, dest, symlinks=True)
    return dest


@pytest.fixture
def ui_server(library: Path, pytorch_service: ServiceProcess) -> Iterator[UiServer]:
    """``photodup ui``'s app under a real uvicorn on a free loopback port."""
    with serve_ui(library, f"pytorch={pytorch_service.url}") as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Chromium is not installed (make system-deps)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1440, "height": 960})  # type: ignore[attr-defined]
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    try:
        yield pg
    finally:
        context.close()
