"""The `[web]` settings section: the staff web console (`intake-bot web`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from msgspec import Meta

from intake_bot.config_types import Secret, Section


class WebSettings(Section):
    host: str = "127.0.0.1"  # behind the trust's reverse proxy; 0.0.0.0 in a container
    port: Annotated[int, Meta(ge=1, le=65535)] = 8080
    # How staff reach the console, for links in digests and alerts ("" when there is none).
    base_url: str = ""
    # Signs session cookies: INTAKE_BOT_WEB_SECRET or a file. Without one, a random key per
    # process: sessions end when it restarts, and several console processes cannot share them.
    secret: Secret | None = None
    secret_file: Path | None = None
    # Session cookies only over HTTPS; None: on unless the console listens on loopback.
    secure_cookies: bool | None = None
    # Single sign-on (OpenID Connect), e.g. Microsoft Entra ID for NHSmail accounts or NHS CIS2:
    # the issuer (its /.well-known/openid-configuration is read) and this console's client.
    # Accounts are still made with `intake-bot staff add`, and matched by email.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: Secret | None = None
    oidc_client_secret_file: Path | None = None
    oidc_label: str = "Sign in with your NHSmail account"
