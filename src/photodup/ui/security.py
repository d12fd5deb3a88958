"""CSRF protection for the page's POSTs, and the security headers on every response.

CSRF: a per-process secret in a cookie and in each form.

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
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


#: Everything the page needs comes from this server: its own CSS, script, icon and photos
#: (``data:`` for images the browser makes itself). No inline script or style attribute, so
#: an injected one does nothing; no framing (clickjacking the Keep button).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class SecurityHeaders:
    """ASGI middleware: the headers above on every HTTP response, error pages included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in SECURITY_HEADERS if n not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
