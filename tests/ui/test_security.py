"""CSRF, path traversal, symlink escape and Host checks against the real server."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import httpx
import pytest

from photodup.finder.records import PhotoRecord
from photodup.finder.store import Store
from photodup.ui.security import CSRF_COOKIE
from ui.helpers import UiServer


def _token(client: httpx.Client) -> str:
    page = client.get("/")
    assert page.status_code == 200
    found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert found is not None and client.cookies.get(CSRF_COOKIE) == found.group(1)
    return found.group(1)


def _group(client: httpx.Client) -> tuple[str, int]:
    text = client.get("/groups").text
    key = re.findall(r'data-key="([0-9a-f]+)"', text)[0]
    keeper = re.findall(r'name="keeper" value="(\d+)"', client.get(f"/groups/{key}").text)[0]
    return key, int(keeper)


def _snapshot(library: Path) -> set[str]:
    return {str(p.relative_to(library)) for p in library.rglob("*") if p.is_file()}


@pytest.mark.parametrize("case", ["no_token", "wrong_token", "no_cookie", "wrong_cookie"])
def test_state_changes_without_a_valid_csrf_token_are_refused(
    ui_server: UiServer, case: str
) -> None:
    with httpx.Client(base_url=ui_server.url) as client:
        token = _token(client)
        key, keeper = _group(client)
        before = _snapshot(ui_server.library)
        form = {"keeper": str(keeper), "csrf_token": token}
        if case == "no_token":
            del form["csrf_token"]
        elif case == "wrong_token":
            # Always a different first character (a token starting with "x" made this pass).
            form["csrf_token"] = ("y" if token[0] == "x" else "x") + token[1:]
        elif case == "no_cookie":
            client.cookies.clear()
        else:
            client.cookies.set(CSRF_COOKIE, "forged")
        for path in (f"/groups/{key}/keep", f"/groups/{key}/dismiss", "/undo", "/scan"):
            reply = client.post(path, data=form)
            assert reply.status_code == 403, (path, reply.text)
            assert "CSRF" in reply.json()["detail"]
        assert _snapshot(ui_server.library) == before
        with Store.open(ui_server.library) as store:
            assert store.conn.execute("SELECT count(*) FROM actions").fetchone()[0] == 0
            assert store.dismissed_sets() == []


def test_a_valid_token_in_the_header_is_accepted(ui_server: UiServer) -> None:
    with httpx.Client(base_url=ui_server.url) as client:
        token = _token(client)
        key, _ = _group(client)
        reply = client.post(f"/groups/{key}/dismiss", headers={"X-CSRF-Token": token})
        assert reply.status_code == 303


def _add_photo(store: Store, raw_path: bytes, sha: str) -> int:
    return store.upsert_photo(
        PhotoRecord(raw_path, 10, 0, sha, 8, 8, "JPEG", None, None, None, None, 0, 0)
    )


def test_files_outside_the_library_are_never_served(ui_server: UiServer, tmp_path: Path) -> None:
    secret = tmp_path / "secret.jpg"
    secret.write_bytes((ui_server.library / "originals" / "coffee.jpg").read_bytes())
    (ui_server.library / "link.jpg").symlink_to(secret)
    with Store.open(ui_server.library) as store:
        crafted = {
            "dotdot": _add_photo(store, b"../secret.jpg", "a" * 64),
            "absolute": _add_photo(store, os.fsencode(secret), "b" * 64),
            "symlink": _add_photo(store, b"link.jpg", "c" * 64),
        }
    with httpx.Client(base_url=ui_server.url) as client:
        for name, photo_id in crafted.items():
            for kind in ("thumb", "full"):
                reply = client.get(f"/photos/{photo_id}/{kind}")
                assert reply.status_code == 403, (name, kind, reply.text)
                assert "outside the library" in reply.json()["detail"]
        # Paths in the URL itself never reach the file system.
        for url in ("/photos/..%2F..%2Fetc%2Fpasswd/full", "/photos/../../etc/passwd",
                    "/static/..%2F..%2Fsettings.py", "/static/../settings.py"):  # fmt: skip
            reply = client.get(url)
            assert reply.status_code in (404, 422), (url, reply.status_code)
            assert b"UiSettings" not in reply.content and b"root:" not in reply.content
        assert client.get("/photos/999999/thumb").status_code == 404


def test_thumbnails_are_cached_by_content_hash(ui_server: UiServer) -> None:
    with Store.open(ui_server.library) as store:
        photo = store.get_photo_by_path(b"originals/chelsea.jpg")
    assert photo is not None
    with httpx.Client(base_url=ui_server.url) as client:
        thumb = client.get(f"/photos/{photo.id}/thumb")
        full = client.get(f"/photos/{photo.id}/full")
    assert thumb.headers["content-type"] == "image/jpeg" and thumb.content[:2] == b"\xff\xd8"
    cached = ui_server.library / ".photodup" / "thumbs" / photo.sha256[:2]
    [entry] = list(cached.iterdir())
    assert entry.name.startswith(photo.sha256) and entry.read_bytes() == thumb.content
    assert full.content[:2] == b"\xff\xd8" and len(full.content) > len(thumb.content)
    assert hashlib.sha256(full.content).hexdigest() != photo.sha256  # re-encoded, not the file


def test_foreign_host_headers_are_refused(ui_server: UiServer) -> None:
    # DNS rebinding: a page on evil.example resolving to 127.0.0.1 must not read the library.
    reply = httpx.get(ui_server.url + "/groups", headers={"Host": "evil.example"})
    assert reply.status_code == 400


def test_health_answers_without_a_csrf_cookie_or_session(ui_server: UiServer) -> None:
    # The container healthcheck probes this route with a bare urllib request.
    reply = httpx.get(f"{ui_server.url}/health")
    assert reply.status_code == 200 and reply.json() == {"status": "ok"}
