"""Strict photo ids (D11) and the ``next=`` guard against open redirects (D13), on the real
server and on the parsing functions themselves."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import pytest

from photodup.finder.store import Store
from photodup.ui.inputs import MAX_ROW_ID, local_path, parse_id
from ui.helpers import UiServer

NOT_IDS = [
    "1.0", " 1", "%201", "1%20", "+1", "-1", "0", "01", "1_0", "0x1", "1e3",
    "\u0661",  # ARABIC-INDIC DIGIT ONE: int() takes it
    str(MAX_ROW_ID + 1), str(-(2**63) - 1), "1" * 26, "",
]  # fmt: skip
BAD_NEXT = [
    "/\\evil.example", "//evil.example", "/%5Cevil.example", "/%2F/evil.example",
    "https://evil.example/", "http:/evil.example", "evil.example", "\\\\evil.example",
    "/\t/evil.example", "/\n/evil.example", "javascript:alert(1)", "", " /groups",
]  # fmt: skip
GOOD_NEXT = ["/", "/groups", "/groups?sort=size&order=desc&page=2", "/groups/abc123?sort=path"]


def test_ids_are_ascii_digits_within_sqlite_int64() -> None:
    assert parse_id("1") == 1 and parse_id(str(MAX_ROW_ID)) == MAX_ROW_ID
    for raw in NOT_IDS:
        assert parse_id(raw) is None, raw
    assert parse_id(None) is None and parse_id(3) is None  # only text is parsed


@pytest.mark.parametrize("target", BAD_NEXT)
def test_next_refuses_anything_but_a_path_on_this_server(target: str) -> None:
    assert local_path(target) == "/"


@pytest.mark.parametrize("target", GOOD_NEXT)
def test_next_keeps_paths_on_this_server(target: str) -> None:
    assert local_path(target) == target


def _photo_id(ui_server: UiServer) -> int:
    with Store.open(ui_server.library) as store:
        photo = store.get_photo_by_path(b"originals/chelsea.jpg")
    assert photo is not None
    return photo.id


def test_photo_urls_take_only_a_plain_id(ui_server: UiServer) -> None:
    real = _photo_id(ui_server)
    with httpx.Client(base_url=ui_server.url) as client:
        for kind in ("thumb", "full"):
            assert client.get(f"/photos/{real}/{kind}").status_code == 200
            spellings = [f"{real}.0", f"%20{real}", f"{real}%20", f"0{real}", f"+{real}"]
            for raw in [*spellings, *NOT_IDS[6:-1]]:
                reply = client.get(f"/photos/{raw}/{kind}")
                # Never served, never a 500 (SQLite's OverflowError past 64 bits).
                assert reply.status_code == 404, (raw, kind, reply.status_code, reply.text)
                assert "id" in reply.json()["detail"], raw


def _token(client: httpx.Client) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text)
    assert found is not None
    return found.group(1)


def test_undo_redirects_only_to_this_server(ui_server: UiServer) -> None:
    with httpx.Client(base_url=ui_server.url) as client:
        token = _token(client)
        # After an undo a group page leads back to the list, in the same order.
        good = [(t, t.replace("/abc123", "")) for t in GOOD_NEXT]
        for target, expected in [*((t, "/") for t in BAD_NEXT), *good]:
            reply = client.post("/undo", data={"csrf_token": token, "next": target})
            assert reply.status_code == 303, (target, reply.text)
            location = reply.headers["location"]
            parts = urlsplit(location)
            assert not parts.scheme and not parts.netloc and "\\" not in location, location
            got = location.split("flash=")[0].rstrip("?&")
            assert got == expected.rstrip("?&"), (target, location)


def test_the_keeper_field_takes_only_a_plain_id(ui_server: UiServer) -> None:
    with httpx.Client(base_url=ui_server.url) as client:
        token = _token(client)
        key = re.findall(r'data-key="([0-9a-f]+)"', client.get("/groups").text)[0]
        keeper = re.findall(r'name="keeper" value="(\d+)"', client.get(f"/groups/{key}").text)[0]
        before = sorted(p for p in ui_server.library.rglob("*") if p.is_file())
        for raw in (f"{keeper}.0", f" {keeper}", f"0{keeper}", "\u0661", str(MAX_ROW_ID + 1)):
            reply = client.post(f"/groups/{key}/keep", data={"csrf_token": token, "keeper": raw})
            assert reply.status_code == 400, (raw, reply.status_code, reply.text)
        assert sorted(p for p in ui_server.library.rglob("*") if p.is_file()) == before
