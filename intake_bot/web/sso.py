"""Single sign-on with OpenID Connect (Authlib): Microsoft Entra ID for NHSmail accounts, NHS
CIS2, or any provider with discovery. The provider vouches for the address; the account, its
offices and its role are still this console's (`intake-bot staff add`), matched by email."""

from __future__ import annotations

import logging
import time
from typing import Any

from authlib.integrations.starlette_client import OAuth, OAuthError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from intake_bot.config_web import WebSettings
from intake_bot.domain.staff import SecondFactorNeededError, SignInError
from intake_bot.errors import OperatorError
from intake_bot.web.auth import application
from intake_bot.web.security import csrf_token
from intake_bot.web.templating import render

PROVIDER = "sso"
log = logging.getLogger(__name__)


def sso_client(web: WebSettings) -> Any | None:
    """The OpenID Connect client the settings describe, or None when single sign-on is off."""
    if not web.oidc_issuer:
        return None
    if not web.oidc_client_id:
        raise OperatorError("web.oidc_client_id: set it with web.oidc_issuer")
    oauth = OAuth()
    oauth.register(
        PROVIDER,
        server_metadata_url=web.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_id=web.oidc_client_id,
        client_secret=_secret(web),
        client_kwargs={"scope": "openid email profile"},
    )
    return oauth.create_client(PROVIDER)


def _secret(web: WebSettings) -> str | None:
    if web.oidc_client_secret is not None:
        return web.oidc_client_secret.get_secret_value()
    if web.oidc_client_secret_file is not None:
        try:
            return web.oidc_client_secret_file.read_text().strip()
        except OSError as exc:
            raise OperatorError(f"web.oidc_client_secret_file: cannot read it: {exc}") from exc
    return None  # a public client (PKCE-less providers need a secret)


async def start(request: Request) -> Response:
    """Off to the identity provider; it comes back to `/login/sso/callback`."""
    client = request.app.state.sso
    if client is None:
        return RedirectResponse("/login", status_code=303)
    callback = str(request.url_for("sso_callback"))
    response: Response = await client.authorize_redirect(request, callback)
    return response


async def callback(request: Request) -> Response:
    """The provider's answer: an ID token it signed (checked by Authlib: signature, issuer,
    audience, expiry, nonce), whose verified email names an account here."""
    client = request.app.state.sso
    if client is None:
        return RedirectResponse("/login", status_code=303)
    try:
        token = await client.authorize_access_token(request)
    except OAuthError as exc:
        return _refused(request, f"single sign-on failed: {exc.error}")
    except Exception as exc:  # a token that fails any check (signature, audience...): refused
        log.warning("single sign-on refused a token: %s", type(exc).__name__)
        return _refused(request, "single sign-on failed: the provider's answer was refused")
    claims = token.get("userinfo") or {}
    email = str(claims.get("email") or claims.get("preferred_username") or "")
    if not email or claims.get("email_verified") is False:
        return _refused(request, "the identity provider gave no verified email address")
    staff = application(request).staff
    try:
        member = await run_in_threadpool(staff.single_sign_on, email)
    except SecondFactorNeededError as exc:
        request.session["pending"] = {"email": email, "at": time.time()}
        return render(request, "login.html", {"code_needed": True, "message": str(exc)})
    except SignInError as exc:
        return _refused(request, str(exc))
    request.session.clear()
    request.session.update({"email": member.email, "seen": int(time.time())})
    csrf_token(request)
    return RedirectResponse("/queues", status_code=303)


def _refused(request: Request, why: str) -> Response:
    return render(request, "login.html", {"error": why, "next": "/queues"}, status_code=400)
