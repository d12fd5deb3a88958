"""The review page in real headless Chromium: keep one, files move, undo, not duplicates, scan."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest

from photodup.finder.grouping import find_groups
from photodup.finder.store import Store
from ui.helpers import UiServer, card_data, check_card_matches_store, finder_settings, sort_value

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _files(library: Path) -> dict[str, str]:
    """Every file outside .photodup, by relative path, with its sha256."""
    return {
        str(p.relative_to(library)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in library.rglob("*")
        if p.is_file() and ".photodup" not in p.relative_to(library).parts
    }


def _member_paths(page: Any) -> list[str]:
    return [el.get_attribute("data-path") for el in page.locator("label.photo").all()]


def test_keep_one_moves_the_others_and_undo_restores(ui_server: UiServer, page: Any) -> None:
    library = ui_server.library
    before = _files(library)
    page.goto(ui_server.url + "/groups")
    cards = page.locator(".group-card")
    assert cards.count() == 3  # three photos, each with a backup and two derived copies
    cards.first.click()
    page.wait_for_url(re.compile(r"/groups/[0-9a-f]+"))
    paths = _member_paths(page)
    assert len(paths) == 4
    # Choose the second photo with the keyboard, then keep it with Enter.
    page.keyboard.press("2")
    assert page.locator(".keeper-radio").nth(1).is_checked()
    assert page.locator("#keeper-name").inner_text() == paths[1]
    page.keyboard.press("Enter")
    page.wait_for_selector("#notice")
    assert "moved 3 photos" in page.locator("#notice").inner_text()

    quarantine = library / ".photodup" / "quarantine"
    assert (library / paths[1]).is_file()
    for rel in paths[:1] + paths[2:]:
        assert not (library / rel).exists(), f"{rel} should have moved"
        assert hashlib.sha256((quarantine / rel).read_bytes()).hexdigest() == before[rel]
    page.goto(ui_server.url + "/groups")
    assert page.locator(".group-card").count() == 2

    page.keyboard.press("u")
    page.wait_for_selector("#notice")
    assert "restored 3 file(s)" in page.locator("#notice").inner_text()
    assert _files(library) == before  # same paths, same bytes
    assert page.locator(".group-card").count() == 3


def test_not_duplicates_hides_the_group_for_good(ui_server: UiServer, page: Any) -> None:
    page.goto(ui_server.url + "/groups?sort=similarity")
    key = page.locator(".group-card").first.get_attribute("data-key")
    page.locator(".group-card").first.click()
    page.wait_for_selector("#dismiss-button")
    page.keyboard.press("n")
    page.wait_for_selector("#notice")
    assert "not duplicates" in page.locator("#notice").inner_text()
    page.goto(ui_server.url + "/groups")
    keys = [c.get_attribute("data-key") for c in page.locator(".group-card").all()]
    assert key not in keys and len(keys) == 2
    # Remembered in the index, not only by this server process.
    with Store.open(ui_server.library) as store:
        assert key not in [g.key for g in find_groups(store, finder_settings())]
    assert page.request.get(ui_server.url + f"/groups/{key}").status == 404


def test_overview_shows_backend_and_scan_now_runs(ui_server: UiServer, page: Any) -> None:
    page.goto(ui_server.url + "/")
    assert page.locator("#stat-photos").inner_text() == "14"
    assert page.locator("#stat-groups").inner_text() == "3"
    assert page.locator("#stat-skipped").inner_text() == "3"
    assert "ready" in page.locator("#backend-pill").inner_text()
    assert page.locator(".skipped tbody tr").count() == 3
    # A new photo appears; "Scan now" indexes it in the background with progress shown.
    source = ui_server.library / "originals" / "astronaut.jpg"
    (ui_server.library / "new").mkdir()
    (ui_server.library / "new" / "astronaut-again.jpg").write_bytes(source.read_bytes())
    page.click("#scan-button")
    page.wait_for_selector("#notice:has-text('Scanning with pytorch')")
    # Only a scan this server ran says "scanned N files"; the page reloads when it ends.
    page.wait_for_selector("#scan-message:has-text('scanned 19 files')", timeout=120_000)
    assert page.locator("#scan-state").text_content() == "completed"
    assert page.locator("#stat-photos").inner_text() == "15"
    assert "1 embedded" in page.locator("#scan-message").inner_text()


def test_group_list_sorts_in_the_order_it_claims(ui_server: UiServer, page: Any) -> None:
    with Store.open(ui_server.library) as store:
        groups = {g.key: g for g in find_groups(store, finder_settings())}
    # Savings differ between the three groups and every sort's ties fall to them, so each
    # sort and direction has exactly one right order.
    assert len({g.bytes_reclaimable for g in groups.values()}) == len(groups) == 3
    page.goto(ui_server.url + "/groups")
    seen: dict[tuple[str, str], list[str]] = {}
    for sort in ("space", "similarity", "photos", "size", "path"):
        with page.expect_navigation():
            page.click(f"#sort-{sort}")
        assert page.locator(f"#sort-{sort}").get_attribute("class") == "active"
        natural = "asc" if sort == "path" else "desc"
        for order in (natural, "asc" if natural == "desc" else "desc"):
            assert page.locator("#sort-direction").get_attribute("data-order") == order
            cards = card_data(page)
            assert sorted(c["key"] for c in cards) == sorted(groups)
            for card in cards:
                check_card_matches_store(card, groups[card["key"]])
            values = [sort_value(sort, groups[c["key"]]) for c in cards]
            assert values == sorted(values, reverse=order == "desc"), (sort, order, values)
            seen[(sort, order)] = [c["key"] for c in cards]
            with page.expect_navigation():
                page.click("#sort-direction")
        assert seen[(sort, "asc")] == seen[(sort, "desc")][::-1]
    # The orders really differ, so a page that ignored the sort would have failed above.
    assert len({tuple(keys) for keys in seen.values()}) > 2, seen
