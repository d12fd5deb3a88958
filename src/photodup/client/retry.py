"""Bounded retries with exponential backoff for transient backend failures."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from photodup.client.errors import BackendUnavailableError, RetryableError

log = logging.getLogger(__name__)
T = TypeVar("T")
BACKOFF_START_S = 0.2
BACKOFF_MAX_S = 2.0


def call_with_retries(call: Callable[[], T], *, retries: int, describe: Callable[[str], str]) -> T:
    """Run ``call``; on :class:`RetryableError` wait 0.2 s, 0.4 s, ... (at most 2 s) and retry.

    After ``retries`` further attempts the last failure becomes a
    :class:`BackendUnavailableError` whose message ``describe(reason)`` builds.
    """
    delay = BACKOFF_START_S
    for attempt in range(retries + 1):
        try:
            return call()
        except RetryableError as exc:
            if attempt == retries:
                raise BackendUnavailableError(describe(str(exc))) from exc
            log.debug("attempt %d failed (%s); retrying in %.1f s", attempt + 1, exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX_S)
    raise AssertionError("unreachable")  # the loop always returns or raises
