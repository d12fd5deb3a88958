"""Small shared pieces of the UI tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from photodup.finder.settings import FinderSettings


def finder_settings() -> FinderSettings:
    # One decode worker: the test machine's cores are shared with the service under test.
    return FinderSettings(workers=1, backend_wait_s=30)


@dataclass
class UiServer:
    url: str
    library: Path
    app: object
