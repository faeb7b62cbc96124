"""How a check logs in (`intake-bot check`): a password, or an OAuth 2.0 token from the block's
token provider (mail/oauth.py). A token is described by its claims, read without verification
(the server is the judge): the scopes or roles it carries and when it runs out. It is never
shown, in whole or in part."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from intake_bot.config import ENV_PREFIX, ConfigError, MailboxSettings, OutgoingSettings, Settings
from intake_bot.domain.connectivity import Finding
from intake_bot.mail.oauth import auth_kind, provider_for
from intake_bot.mail.probe_net import Server
from intake_bot.mail.tokens import TokenProvider
from intake_bot.ports import MailboxError

Kind = Literal["imap", "smtp", "graph"]
Block = MailboxSettings | OutgoingSettings
# What Microsoft 365 grants for each kind of connection: app-only roles, delegated scopes.
MICROSOFT_GRANTS = {
    "imap": ("IMAP.AccessAsApp", "IMAP.AccessAsUser.All"),
    "smtp": ("SMTP.SendAsApp", "SMTP.Send"),
    "graph": ("Mail.ReadWrite", "Mail.Send"),
}
# Graph's audience is its URL or, in some tokens, its application id.
MICROSOFT_AUDIENCES = (
    "outlook.office",
    "graph.microsoft.com",
    "00000003-0000-0000-c000-000000000000",
)


@dataclass(frozen=True)
class Login:
    """Who logs in and with what. `provider` set: OAuth 2.0; else `password`."""

    username: str
    method: str  # "password", "oauth2-client-credentials", "oauth2-delegated", ...
    password: str | None = field(default=None, repr=False)
    provider: TokenProvider | None = None
    source: str = ""  # where the password comes from, for a fix: "mailbox.password_file"

    def describe(self) -> str:
        if self.provider is not None:
            return f"OAuth 2.0 ({self.method}) as {self.username}"
        return f"password ({self.source}) as {self.username}"


def login_for(
    settings: Settings, label: str, block: Block, kind: Kind, username: str, password: str | None
) -> Login:
    """The block's login; ConfigError names what is missing. `password` is what the settings
    give (a file, the environment or the URL); it is used only for password login."""
    method = auth_kind(block)
    provider = provider_for(settings, label, block, kind)
    if provider is not None:
        return Login(username, method, provider=provider)
    if not password:
        raise ConfigError(f"{label}: no password: set {label}.password_file (or use OAuth 2.0)")
    return Login(username, method, password=password, source=password_source(label, block))


def password_source(label: str, block: Block) -> str:
    if block.password is not None:  # only the environment sets it
        return f"{ENV_PREFIX}{label.upper()}_PASSWORD" if label.isalpha() else f"{label}.password"
    if block.password_file is not None:
        return f"{label}.password_file"
    return f"the password in {label}.url"


def token_step(
    server: Server,
    login: Login,
    kind: Kind,
    now: datetime | None = None,
    wanted: tuple[str, ...] = (),
) -> tuple[Finding, str | None]:
    """Get a token from the login's provider: what it carries, or why there is none.
    `wanted`: the grants this use needs, one of which the token must carry (default: the
    kind's, MICROSOFT_GRANTS)."""
    assert login.provider is not None
    try:
        token = login.provider.token()
    except MailboxError as exc:  # CredentialsError: refused, or the authority unreachable
        fix = str(getattr(exc, "fix", "") or "")
        detail = str(exc).removesuffix(f": {fix}") if fix else str(exc)
        if not fix:
            fix = f"check {server.label}.oauth2 and that the token authority can be reached"
        return server.finding("token", False, f"no token: {detail}", fix), None
    what, lacking, expired = describe_token(token, kind, now, wanted)
    detail = f"obtained ({login.method}): {what}"
    if expired:
        fix = f"the token has expired: whatever renews {server.label}.oauth2_token_file has stopped"
        return server.finding("token", False, detail, fix), None
    return server.finding("token", True, detail, lacking or "", warning=bool(lacking)), token


def describe_token(
    token: str, kind: Kind, now: datetime | None = None, wanted: tuple[str, ...] = ()
) -> tuple[str, str | None, bool]:
    """(what the token carries, a fix if it lacks what the server will want, expired?)."""
    claims = jwt_claims(token)
    if claims is None:
        return "an opaque token (not a JWT: its scopes cannot be read here)", None, False
    parts: list[str] = []
    audience = claims.get("aud")
    if isinstance(audience, str):
        parts.append(f"for {audience}")
    scopes = str(claims.get("scp", "")).split()
    listed = claims.get("roles")
    roles = [str(r) for r in listed] if isinstance(listed, list) else []
    if scopes:
        parts.append(f"scopes {' '.join(scopes)}")
    if roles:
        parts.append(f"roles {' '.join(roles)}")
    if not scopes and not roles:
        parts.append("no scp or roles claim")
    expired = False
    expiry = claims.get("exp")
    if isinstance(expiry, int | float):
        left = expiry - (now or datetime.now(UTC)).timestamp()
        expired = left <= 0
        parts.append(
            f"expired {_minutes(-left)} ago" if expired else f"expires in {_minutes(left)}"
        )
    lacking = _missing_grant(audience, scopes + roles, wanted or MICROSOFT_GRANTS[kind])
    return ", ".join(parts), lacking, expired


def jwt_claims(token: str) -> dict[str, Any] | None:
    """The claims of a JWT, not verified (that is the server's job); None for anything else."""
    pieces = token.split(".")
    if len(pieces) != 3:
        return None
    body = pieces[1] + "=" * (-len(pieces[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(body))
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


def _missing_grant(audience: object, granted: list[str], wanted: tuple[str, ...]) -> str | None:
    """Microsoft 365 refuses a token without the grant for the protocol: say which one."""
    if not isinstance(audience, str) or not any(m in audience for m in MICROSOFT_AUDIENCES):
        return None
    if any(g in wanted for g in granted):
        return None
    return (
        f"the token carries none of {', '.join(wanted)}: add the permission to the app "
        "registration and have an administrator grant consent"
    )


def _minutes(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h"
