"""Strict parsing of what the page takes from URLs and forms: photo ids and ``next=`` targets.

Python's ``int()`` is lenient (``" 1"``, ``"1_0"``, ``"١"``) and FastAPI's ``int`` path
parameters accept ``"1.0"``; SQLite overflows past 64 bits. An id is written one way only,
so every other spelling is refused before it reaches the index.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from fastapi import HTTPException

#: SQLite's INTEGER is a signed 64-bit number; row ids are positive.
MAX_ROW_ID = 2**63 - 1
#: ASCII digits only (``\d`` would match other scripts' digits), no leading zero.
_ID = re.compile(r"[1-9][0-9]{0,18}")


def parse_id(raw: object) -> int | None:
    """The row id ``raw`` spells, or None unless it is 1..2**63-1 in plain ASCII digits."""
    if not isinstance(raw, str) or not _ID.fullmatch(raw):
        return None
    value = int(raw)
    return value if value <= MAX_ROW_ID else None


def photo_id(raw: str) -> int:
    """A photo id from the URL; HTTP 404 for anything that cannot be one."""
    value = parse_id(raw)
    if value is None:
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise HTTPException(404, f"no photo with id {shown!r}: ids are whole numbers from 1")
    return value


def _unsafe(text: str) -> bool:
    # Browsers drop tabs and newlines inside URLs and read "\" as "/": "/\tevil" and
    # "/\evil" both become "//evil", another host.
    return "\\" in text or any(ord(c) < 0x20 or ord(c) == 0x7F for c in text)


def local_path(target: str, default: str = "/") -> str:
    """``target`` when it is a path on this server (``/groups?sort=size``), else ``default``.

    Accepted: no scheme, no host, one leading ``/``, no backslash and no control character,
    in the value as sent and once percent-decoded (``/%5Cevil``, ``/%2F/evil``).
    """
    for text in (target, unquote(target)):
        if not text.startswith("/") or text.startswith("//") or _unsafe(text):
            return default
        parts = urlsplit(text)
        if parts.scheme or parts.netloc:
            return default
    return target
