"""Small shared pieces of the UI tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from photodup.finder.groups import Group
from photodup.finder.settings import FinderSettings
from photodup.ui.app import create_app
from photodup.ui.settings import UiSettings
from photodup.webserver import HttpServerSettings, bind, server_config


def finder_settings() -> FinderSettings:
    # One decode worker: the test machine's cores are shared with the service under test.
    return FinderSettings(workers=1, backend_wait_s=30)


@dataclass
class UiServer:
    url: str
    library: Path
    app: object


@contextmanager
def serve_ui(
    library: Path, backends: str, http: HttpServerSettings | None = None, **settings: Any
) -> Iterator[UiServer]:
    """``photodup ui``'s app under a real uvicorn on a free loopback port, configured as
    ``photodup ui`` configures it (``http``: its limits on slow clients)."""
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    ui = UiSettings(library=library, host="127.0.0.1", port=port, backends=backends, **settings)
    app = create_app(ui, finder_settings())
    server = uvicorn.Server(server_config(app, http or HttpServerSettings()))
    thread = threading.Thread(target=server.run, args=([sock],), name="ui-server", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the UI server did not start")
        time.sleep(0.05)
    assert httpx.get(url + "/api/scan").status_code == 200
    try:
        yield UiServer(url, library, app)
    finally:
        server.should_exit = True
        thread.join(30)
        assert not thread.is_alive(), "the UI server did not stop"


#: What each sort of the group list orders by, from the store's own numbers (docs/ui.md).
def sort_value(sort: str, group: Group) -> tuple[object, ...]:
    space = group.bytes_reclaimable
    if sort == "similarity":
        return (group.min_similarity, space)
    if sort == "photos":
        return (len(group.members), space)
    if sort == "size":
        return (max(p.size for p in group.members), space)
    if sort == "path":
        name = group.keeper.display_path
        return (name.casefold(), name)
    assert sort == "space", sort
    return (space,)


def card_data(page: Any) -> list[dict[str, str]]:
    """The data attributes of every group card on the page, in page order."""
    return page.eval_on_selector_all(".group-card", "els => els.map(e => ({...e.dataset}))")


def check_card_matches_store(card: dict[str, str], group: Group) -> None:
    """What a card says equals what the index says about that group."""
    assert int(card["space"]) == group.bytes_reclaimable, card
    assert int(card["photos"]) == len(group.members), card
    assert float(card["similarity"]) == pytest.approx(group.min_similarity, abs=1e-9), card
    assert int(card["size"]) == max(p.size for p in group.members), card
    assert card["path"] == group.keeper.display_path, card
