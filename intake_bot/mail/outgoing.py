"""The outgoing transport that `outgoing.url` names: file:PATH, smtp(s)://HOST or graph://MAILBOX.

Each adapter is imported when it is the one named (the SMTP, Graph and OAuth stacks cost tens of
milliseconds each, and a command that sends nothing should not pay for them).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from intake_bot.config import ConfigError, Settings, url_password

if TYPE_CHECKING:
    from intake_bot.mail.graph_send import GraphTransport
    from intake_bot.mail.smtp import SmtpTransport
    from intake_bot.ports import MailTransport


def make_transport(settings: Settings) -> MailTransport:
    from intake_bot.mail.file_outbox import FileTransport

    out = settings.outgoing
    parts = urlsplit(out.url)
    if parts.scheme == "file":
        return FileTransport(Path(unquote(out.url.split(":", 1)[1])))
    if parts.scheme == "graph":
        return _graph_transport(settings)
    if parts.scheme not in ("smtp", "smtps"):
        raise ConfigError(
            f"outgoing.url: unknown scheme {parts.scheme!r} (file:, smtp://, smtps:// or graph://)"
        )
    if not parts.hostname:
        raise ConfigError("outgoing.url: needs a host, e.g. smtp://intake@smtp.example:587")
    query = parse_qs(parts.query)
    security = query.get("tls", ["ssl" if parts.scheme == "smtps" else "starttls"])[0]
    try:
        return _smtp(parts.hostname, parts.port, parts.scheme, parts.username, security, settings)
    except ValueError as exc:
        raise ConfigError(f"outgoing: {exc}") from exc


def _smtp(
    host: str,
    port: int | None,
    scheme: str,
    username: str | None,
    security: str,
    settings: Settings,
) -> SmtpTransport:
    from intake_bot.mail.oauth import provider_for
    from intake_bot.mail.smtp import SmtpTransport
    from intake_bot.mail.sources import trusting

    out = settings.outgoing
    tokens = provider_for(settings, "outgoing", out, "smtp")  # None: a password
    if tokens is not None and not username:
        raise ConfigError(
            "outgoing.url: name the mailbox the OAuth 2.0 token sends as, "
            "e.g. smtp://dsfc.enquiries%40nhs.net@smtp.office365.com:587"
        )
    return SmtpTransport(
        host=host,
        port=port or (465 if scheme == "smtps" else 587),
        security=security,
        username=unquote(username) if username else None,
        password=None if tokens else settings.outgoing_secret() or url_password(out.url),
        timeout=out.timeout_seconds,
        ssl_context=trusting(out.ca_file),
        allow_plain_auth=out.allow_plain_auth,
        tokens=tokens,
    )


def _graph_transport(settings: Settings) -> GraphTransport:
    from intake_bot.mail.graph_send import GraphTransport
    from intake_bot.mail.oauth import graph_tokens

    out = settings.outgoing
    mailbox = unquote(urlsplit(out.url).netloc)
    if not mailbox or ":" in mailbox or "/" in urlsplit(out.url).path.strip("/"):
        raise ConfigError("outgoing.url: name the mailbox that sends, e.g. graph://dsfc@nhs.net")
    tokens = graph_tokens(settings, "outgoing", out)
    try:
        return GraphTransport(
            mailbox=mailbox,
            tokens=tokens,
            api_url=out.graph_api_url,
            timeout=out.timeout_seconds,
            ca_file=out.ca_file,
        )
    except ValueError as exc:  # plain http to a host that is not loopback
        raise ConfigError(f"outgoing.graph_api_url: {exc}") from exc
