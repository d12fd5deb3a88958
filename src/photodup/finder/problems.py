"""What an action reports about a file it left alone: shared by resolve, undo and the page."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """A file that was left where it was, and why."""

    path: str
    reason: str
