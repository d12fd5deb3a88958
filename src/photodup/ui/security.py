"""CSRF protection for the page's POSTs: a per-process secret in a cookie and in each form.

The token is random per server process. A state-changing request must carry it both in the
``photodup_csrf`` cookie (SameSite=Strict, so other sites cannot make the browser send it)
and in the ``csrf_token`` form field or ``X-CSRF-Token`` header (which other sites cannot
read). Anything else is answered 403 before the request does anything.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import HTTPException, Request
from starlette.datastructures import FormData

CSRF_COOKIE = "photodup_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _matches(given: Any, token: str) -> bool:
    return isinstance(given, str) and secrets.compare_digest(given.encode(), token.encode())


async def verified_form(request: Request, token: str) -> FormData:
    """The request's form, once its CSRF token checks out; HTTP 403 otherwise."""
    form = await request.form()
    sent = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    cookie = request.cookies.get(CSRF_COOKIE)
    if cookie is None:
        problem = "the CSRF cookie is missing (reload the page and try again)"
    elif sent is None:
        problem = f"the CSRF token is missing (form field {CSRF_FIELD} or header X-CSRF-Token)"
    elif not (_matches(cookie, token) and _matches(sent, token)):
        problem = "the CSRF token is wrong or stale (reload the page and try again)"
    else:
        return form
    raise HTTPException(status_code=403, detail=f"request refused: {problem}")


def set_csrf_cookie(response: Any, token: str) -> None:
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path="/")
