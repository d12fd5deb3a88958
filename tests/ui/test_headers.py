"""D12: the Content-Security-Policy and X-Frame-Options on every response of the page, and a
page that works under them (no inline script or style for the policy to block)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from photodup.finder.store import Store
from photodup.ui.security import CONTENT_SECURITY_POLICY
from ui.helpers import UiServer


def _urls(ui_server: UiServer, client: httpx.Client) -> list[str]:
    key = re.findall(r'data-key="([0-9a-f]+)"', client.get("/groups").text)[0]
    with Store.open(ui_server.library) as store:
        photo = store.get_photo_by_path(b"originals/chelsea.jpg")
    assert photo is not None
    return ["/", "/groups", f"/groups/{key}", f"/photos/{photo.id}/thumb",
            f"/photos/{photo.id}/full", "/static/app.css", "/api/scan", "/health",
            "/groups/nope", "/photos/1.0/full", "/no/such/page"]  # fmt: skip


def test_every_response_carries_the_csp_and_refuses_framing(ui_server: UiServer) -> None:
    with httpx.Client(base_url=ui_server.url, headers={"Accept": "text/html"}) as client:
        urls = _urls(ui_server, client)
        replies = [client.get(url) for url in urls]
        replies.append(client.get("/", headers={"Host": "evil.example"}))  # refused: 400
    assert {r.status_code for r in replies} >= {200, 400, 404}
    for reply in replies:
        csp = reply.headers.get("content-security-policy", "")
        assert csp == CONTENT_SECURITY_POLICY, (reply.url, reply.headers)
        assert reply.headers.get("x-frame-options") == "DENY", reply.url
        assert reply.headers.get("x-content-type-options") == "nosniff", reply.url
        assert reply.headers.get_list("content-security-policy") == [csp]  # set once
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["frame-ancestors"] == "'none'" and directives["script-src"] == "'self'"
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY


def test_pages_have_nothing_inline_for_the_policy_to_block(ui_server: UiServer) -> None:
    with httpx.Client(base_url=ui_server.url) as client:
        pages = [u for u in _urls(ui_server, client) if u in ("/", "/groups") or "/groups/" in u]
        for url in pages[:3]:
            html = client.get(url).text
            assert re.findall(r"<script(?![^>]*\bsrc=)", html) == [], url  # inline scripts
            assert re.findall(r"<style\b|\sstyle=|\son[a-z]+=", html) == [], url
            absolute = re.findall(r'(?:src|href)="((?:https?:)?//[^"]*)"', html)
            assert all(a.startswith(ui_server.url + "/") for a in absolute), (url, absolute)


@pytest.mark.browser
@pytest.mark.slow
def test_the_page_works_in_chromium_with_the_csp_on(ui_server: UiServer, page: Any) -> None:
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security" in m.text else 0)
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation',"
        " e => console.error('Content Security violation: ' + e.violatedDirective))"
    )
    page.goto(ui_server.url + "/")
    assert page.locator("#scan-bar").evaluate("el => el.style.width").endswith("%")
    page.goto(ui_server.url + "/groups")
    page.keyboard.press("j")
    page.keyboard.press("Enter")  # the script runs: keyboard navigation opens the group
    page.wait_for_url(re.compile(r"/groups/[0-9a-f]+"))
    page.keyboard.press("2")
    assert page.locator(".keeper-radio").nth(1).is_checked()
    assert page.locator(".photo img").first.evaluate("img => img.naturalWidth") > 0
    assert violations == []
