"""Everything the page works with, owned by the app's lifespan and reached via a dependency."""

from __future__ import annotations

import itertools
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from photodup.finder.actions import Problem, last_action_id, quarantine_root, recover_pending
from photodup.finder.settings import FinderSettings
from photodup.finder.store import DATA_DIR_NAME, Store
from photodup.ui.backends import BackendRegistry
from photodup.ui.groups import GroupIndex
from photodup.ui.scanning import ScanJob
from photodup.ui.security import new_token
from photodup.ui.settings import UiSettings
from photodup.ui.thumbnails import ThumbnailCache

log = logging.getLogger(__name__)


@dataclass
class Flash:
    """A message for the page shown after a redirect (actions report what they did)."""

    text: str
    kind: str = "info"  # info, success, warning, error
    problems: list[Problem] = field(default_factory=list)


class UiState:
    def __init__(self, settings: UiSettings, finder: FinderSettings, store: Store) -> None:
        self.settings = settings
        self.finder = finder
        self.store = store
        self.library: Path = store.library
        self.quarantine = quarantine_root(store, finder.quarantine_dir)
        self.csrf_token = new_token()
        self.thumbs = ThumbnailCache(
            self.library, self.library / DATA_DIR_NAME / "thumbs", settings.thumb_size
        )
        self.backends = BackendRegistry(settings.backend_choices())
        self.groups = GroupIndex(store, finder)
        self.scan = ScanJob(self.library, finder, on_finish=self.groups.invalidate)
        #: Actions run one at a time: two clicks must not move the same files twice.
        self.action_lock = threading.Lock()
        self._flashes: OrderedDict[str, Flash] = OrderedDict()
        self._ids = itertools.count(1)

    @classmethod
    def open(cls, settings: UiSettings, finder: FinderSettings) -> UiState:
        assert settings.library is not None
        library = Path(settings.library).expanduser()
        if not library.is_dir():
            raise FileNotFoundError(f"library {library} is not a folder")
        store = Store.open(library, finder.db_path)
        state = cls(settings, finder, store)
        for note in recover_pending(store):
            log.warning("recovered an interrupted move: %s", note)
        return state

    def close(self) -> None:
        self.scan.join(timeout_s=0)
        self.backends.close()
        self.store.close()

    def can_undo(self) -> bool:
        with self.store.lock:
            return last_action_id(self.store) is not None

    def flash(self, message: Flash) -> str:
        key = str(next(self._ids))
        self._flashes[key] = message
        while len(self._flashes) > 50:
            self._flashes.popitem(last=False)
        return key

    def take_flash(self, key: str | None) -> Flash | None:
        return self._flashes.pop(key, None) if key else None


def get_state(request: Request) -> UiState:
    state: UiState = request.app.state.ui
    return state


State = Annotated[UiState, Depends(get_state)]
