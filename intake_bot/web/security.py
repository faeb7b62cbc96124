"""Headers on every response, and the CSRF token of every state-changing request."""

from __future__ import annotations

import hmac
import secrets
import time

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline script or style anywhere: every asset is a file the console serves itself.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"  # what htmx sends (hx-headers on the body)


class SecurityHeaders:
    """Adds `HEADERS` to every HTTP response, errors and static files included, and a
    `Server-Timing` header with the time the console took."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                # How long the console took: for operators' dashboards and bench/web.py.
                elapsed = (time.perf_counter() - started) * 1000
                headers.setdefault("Server-Timing", f"app;dur={elapsed:.1f}")
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                if scope["path"].startswith(("/api/", "/requests/", "/messages/")):
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, with_headers)


def csrf_token(request: Request) -> str:
    """This session's token for forms (made on first use)."""
    token = request.session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return token


def check_csrf(request: Request, submitted: object) -> None:
    """403 unless the form field or the header carries this session's token."""
    expected = request.session.get(CSRF_FIELD)
    given = submitted if isinstance(submitted, str) else request.headers.get(CSRF_HEADER, "")
    if not (isinstance(expected, str) and given and hmac.compare_digest(expected, given)):
        raise HTTPException(403, "This form has expired or did not come from this site.")
