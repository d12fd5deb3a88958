"""Test-only crash points: ``PHOTODUP_FAULT_POINT=name:count`` makes the process SIGKILL itself.

The moves call :func:`reached` at each journalled step (``claimed``, ``copying`` once per
chunk copied, ``copied``, ``verified``, ``removed``, and their ``restore_*`` twins during
undo). When the named point is reached for the ``count``-th time the process kills itself
with SIGKILL, exactly as ``kill -9`` would, so the fault suite can stop a real ``photodup
resolve`` or ``undo`` at a chosen step. ``name:count:stop`` sends SIGSTOP instead: the process
freezes mid-move, alive, so a test can run a second photodup against it and then SIGCONT it.
Unset (the default), the points cost nothing.
"""

from __future__ import annotations

import functools
import os
import signal
from collections import Counter

from pydantic_settings import BaseSettings, SettingsConfigDict


class FaultSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PHOTODUP_", env_file=None, extra="ignore")

    #: ``name:count``: SIGKILL this process the count-th time it reaches the named step.
    fault_point: str = ""


@functools.cache
def _target() -> tuple[str, int, signal.Signals] | None:
    spec = FaultSettings().fault_point.strip()
    if not spec:
        return None
    name, _, rest = spec.partition(":")
    count, _, how = rest.partition(":")
    return name, int(count or 1), signal.SIGSTOP if how == "stop" else signal.SIGKILL


_hits: Counter[str] = Counter()


def reached(name: str) -> None:
    """Mark that the process reached step ``name``; dies here if the fault point says so."""
    target = _target()
    if target is None or target[0] != name:
        return
    _hits[name] += 1
    if _hits[name] == target[1]:
        os.kill(os.getpid(), target[2])
