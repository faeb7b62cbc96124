"""The console as an ASGI app: routes, sessions, security headers, error pages, static files."""

from __future__ import annotations

import ipaddress
import logging
import secrets
from pathlib import Path
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from intake_bot.application import Application
from intake_bot.config import Settings
from intake_bot.errors import OperatorError
from intake_bot.web import admin, api, auth, messages, metrics, ods, pages, sso, staff_pages
from intake_bot.web.security import SecurityHeaders
from intake_bot.web.templating import render

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
SESSION_COOKIE = "intake_bot_session"


def create_app(application: Application, *, secret: str, secure_cookies: bool) -> Starlette:
    """The console over `application`; cookies signed with `secret`, and `Secure` when asked."""
    routes = [
        Route("/", lambda request: RedirectResponse("/queues", status_code=303)),
        Route("/login", auth.login_page, methods=["GET"]),
        Route("/login", auth.login, methods=["POST"]),
        Route("/logout", auth.logout, methods=["POST"]),
        Route("/login/sso", sso.start),
        Route("/login/sso/callback", sso.callback, name="sso_callback"),
        Route("/queues", pages.queues),
        Route("/queues/{name}", messages.shared_queue),
        Route("/queues/{office}/{kind}", pages.queue),
        Route("/search", pages.search),
        Route("/requests/{reference}", pages.request_page),
        Route("/requests/{reference}/status", pages.change_status, methods=["POST"]),
        Route("/requests/{reference}/note", pages.add_note, methods=["POST"]),
        Route("/requests/{reference}/assign", pages.assign, methods=["POST"]),
        Route("/requests/{reference}/attachments/{id:int}", messages.request_file),
        Route("/messages/{reference}", messages.message_page),
        Route("/messages/{reference}/attachments/{id:int}", messages.message_file),
        Route("/messages/{reference}/{action}", messages.act_on_message, methods=["POST"]),
        Route("/register", pages.register),
        Route("/register/export", admin.register_export),
        Route("/register/import", admin.register_import, methods=["POST"]),
        Route("/register/reviews", ods.decide_review, methods=["POST"]),
        Route("/register/{reference}", pages.relationship_history),
        Route("/s251", admin.approvals),
        Route("/s251/extend", admin.extend_approval, methods=["POST"]),
        Route("/staff", staff_pages.staff_page),
        Route("/staff/add", staff_pages.add_staff, methods=["POST"]),
        Route("/staff/disable", staff_pages.disable_staff, methods=["POST"]),
        Route("/s251/add", admin.add_approval, methods=["POST"]),
        Route("/requests/{reference}/link", pages.link_message, methods=["POST"]),
        Route("/outbox", admin.outbox),
        Route("/outbox/retry", admin.outbox_retry, methods=["POST"]),
        Route("/api/queues", api.queues),
        Route("/api/requests/{reference}", api.request_detail),
        Route("/api/messages/{reference}", api.message_detail),
        Route("/api/register", api.register),
        Route("/api/s251", api.approvals),
        Route("/api/outbox", api.outbox),
        Route("/healthz", api.healthz),
        Route("/metrics", metrics.metrics),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(
            SessionMiddleware,
            secret_key=secret,
            session_cookie=SESSION_COOKIE,
            max_age=None,  # ends with the browser; idle sessions end in auth.signed_in
            same_site="lax",
            https_only=secure_cookies,
        ),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={HTTPException: _error},  # type: ignore[dict-item]
    )
    app.state.application = application
    app.state.zone = ZoneInfo(application.settings.timezone)
    app.state.sso = sso.sso_client(application.settings.web)
    app.state.sso_label = application.settings.web.oidc_label
    return app


async def _error(request: Request, exc: HTTPException) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    context = {"status": exc.status_code, "detail": exc.detail, "member": None}
    return render(request, "error.html", context, status_code=exc.status_code)


def session_secret(settings: Settings) -> str:
    """The key that signs session cookies: the setting, its file, or a random one (then
    sessions last only as long as this process)."""
    web = settings.web
    if web.secret is not None and web.secret.get_secret_value():
        return web.secret.get_secret_value()
    if web.secret_file is not None:
        try:
            text = web.secret_file.read_text().strip()
        except OSError as exc:
            raise OperatorError(f"web.secret_file: cannot read {web.secret_file}: {exc}") from exc
        if len(text) < 32:
            raise OperatorError(f"web.secret_file: {web.secret_file} holds under 32 characters")
        return text
    log.warning("no web.secret set: sessions end when the console restarts")
    return secrets.token_urlsafe(48)


def cookies_secure(settings: Settings) -> bool:
    """`web.secure_cookies`, or by default: Secure unless the console listens on loopback."""
    if settings.web.secure_cookies is not None:
        return settings.web.secure_cookies
    host = settings.web.host
    try:
        return not (host == "localhost" or ipaddress.ip_address(host).is_loopback)
    except ValueError:
        return True


def from_environment() -> Starlette:
    """The console as each of `intake-bot web --workers N`'s processes builds it: settings from
    the file and environment the CLI shared (`config.share_with_workers`)."""
    from intake_bot.bootstrap import build
    from intake_bot.cli.logs import configure
    from intake_bot.config import load_settings

    settings = load_settings()
    configure(settings.log_level)
    return create_app(
        build(settings), secret=session_secret(settings), secure_cookies=cookies_secure(settings)
    )
