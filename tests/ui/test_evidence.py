"""The verification evidence in real headless Chromium: outlines on both photos, the words,
the kinds, and similar shots on their own page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures.service import ServiceProcess
from photodup.client import InferenceClient
from photodup.finder.sample import build_sample_library
from photodup.finder.scan import scan_library
from ui.helpers import UiServer, finder_settings, serve_ui

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def evidence_server(tmp_path: Path, pytorch_service: ServiceProcess) -> Iterator[UiServer]:
    """Copies only verification finds (a 30 % crop, a mirror) and the stereo pair."""
    root = tmp_path / "library"
    build_sample_library(
        root,
        photos=("astronaut", "motorcycle_left"),
        kinds=("crop_30", "flip"),
        distractors=("camera",),
        exact_copies=False,
        bad_files=False,
    )
    with InferenceClient(pytorch_service.url, "pytorch") as client:
        summary = scan_library(root, client, finder_settings())
    assert summary.state == "completed", summary
    with serve_ui(root, f"pytorch={pytorch_service.url}") as server:
        yield server


def _inside(inner: dict[str, float], outer: dict[str, float], slack: float = 8.0) -> bool:
    # slack: the outline's stroke reaches a few pixels past the region
    return (
        inner["x"] >= outer["x"] - slack
        and inner["y"] >= outer["y"] - slack
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack
    )


def test_group_view_outlines_the_shared_region_and_says_why(
    evidence_server: UiServer, page: Any
) -> None:
    page.goto(evidence_server.url + "/groups")
    cards = page.locator(".group-card")
    assert cards.count() == 2  # astronaut and motorcycle: original + crop + mirror each
    assert "burst/" not in page.content()  # the second shot is not a duplicate
    page.locator('.group-card[data-path*="astronaut"]').click()
    page.wait_for_url(re.compile(r"/groups/[0-9a-f]+"))
    photos = page.locator("label.photo")
    assert photos.count() == 3
    outlines = page.locator("svg.matched-region polygon")
    assert outlines.count() == 3  # every member shows what it shares
    # The crop's outline on the original covers about half of it; on the crop, all of it.
    by_path = {}
    for i in range(photos.count()):
        label = photos.nth(i)
        img = label.locator("img").bounding_box()
        poly = label.locator("svg.matched-region polygon").bounding_box()
        assert img and poly and _inside(poly, img), (img, poly)
        by_path[label.get_attribute("data-path")] = (
            poly["width"] * poly["height"] / (img["width"] * img["height"])
        )
    assert 0.3 < by_path["originals/astronaut.jpg"] < 0.75, by_path
    assert by_path["copies/crop_30/astronaut.jpg"] > 0.9, by_path
    table = page.locator("section.pairs").inner_text()
    assert "matching points" in table and "% of the" in table
    assert "mirrored" in table and "mirrored or rotated" in table
    assert "cropped or framed" in table


def test_similar_shots_have_their_own_page(evidence_server: UiServer, page: Any) -> None:
    page.goto(evidence_server.url + "/groups")
    page.locator("nav a", has_text="Similar shots").click()
    page.wait_for_url(re.compile(r"/similar$"))
    cards = page.locator(".similar-card")
    assert cards.count() == 1
    text = cards.first.inner_text()
    assert "burst/motorcycle_right.jpg" in text and "motorcycle_left" in text
    assert "shot 1 s apart" in text
    assert page.locator("h1").inner_text().startswith("1 set of similar shots")
