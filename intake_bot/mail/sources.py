"""The mail source for each `[[mailbox]]` in the settings: its URL's scheme picks the adapter.

Building a source makes no connection, so a worker checks every mailbox when it starts and
stops on a bad one (unknown scheme, no user or host, no password or token) instead of failing
on every poll. A new kind of source is one more branch in `open_source`.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

from intake_bot.config import ENV_PREFIX, ConfigError, MailboxSettings, Settings, url_password
from intake_bot.mail.graph import GraphMailbox
from intake_bot.mail.graph import parse_url as parse_graph_url
from intake_bot.mail.imap import ImapMailbox
from intake_bot.mail.imap_settings import TLS_MODES
from intake_bot.mail.maildir import MaildirMailbox
from intake_bot.mail.oauth import auth_kind, graph_tokens, provider_for
from intake_bot.ports import MailboxError, MailSource

EXAMPLE = "imaps://intake@mail.example.nhs.uk:993/INBOX"


def open_source(settings: Settings, box: MailboxSettings) -> MailSource:
    """The source of `box`, not yet connected. ConfigError names the setting that is wrong."""
    label = settings.mailbox_label(box)
    parts = urlsplit(box.url)
    if parts.scheme == "maildir":
        return _maildir(box, label)
    if parts.scheme == "graph":
        return _graph(settings, box, label)
    if parts.scheme not in ("imap", "imaps"):
        raise ConfigError(
            f"{label}.url: unknown scheme {parts.scheme!r}: use maildir:PATH, imap://, "
            f"imaps:// or graph://, e.g. {EXAMPLE}"
        )
    return _imap(settings, box, label, parts)


def check_sources(settings: Settings) -> None:
    """Build every mailbox's source without connecting; ConfigError lists every bad one."""
    problems: list[str] = []
    for box in settings.mailboxes:
        try:
            open_source(settings, box).close()
        except ConfigError as exc:
            problems.extend(exc.problems)
        except MailboxError as exc:  # e.g. a Maildir folder that cannot be created
            problems.append(f"{settings.mailbox_label(box)}.url: {exc}")
    if problems:
        raise ConfigError("; ".join(problems), problems)


def _maildir(box: MailboxSettings, label: str) -> MaildirMailbox:
    path = unquote(box.url.split(":", 1)[1])
    if not path:
        raise ConfigError(f"{label}.url: name the folder, e.g. maildir:var/mail")
    return MaildirMailbox(
        Path(path),
        processed_folder=box.processed_folder or None,
        quarantine_folder=box.quarantine_folder,
        name=box.name,
    )


def _imap(settings: Settings, box: MailboxSettings, label: str, parts: SplitResult) -> ImapMailbox:
    if not parts.hostname or not parts.username:
        raise ConfigError(f"{label}.url: name the user and the host, e.g. {EXAMPLE}")
    tls = parse_qs(parts.query).get("tls", ["ssl" if parts.scheme == "imaps" else "starttls"])[0]
    if tls not in TLS_MODES:
        raise ConfigError(f"{label}.url: tls={tls} is not one of {', '.join(TLS_MODES)}")
    try:
        port = parts.port or (993 if parts.scheme == "imaps" else 143)
    except ValueError as exc:  # a port that is not a number
        raise ConfigError(f"{label}.url: {exc}, e.g. {EXAMPLE}") from exc
    if auth_kind(box) == "oauth2-token-file":
        settings.mailbox_token(box)  # a file that cannot be read is said now, not at each poll
    tokens = provider_for(settings, label, box, "imap")  # None: a password
    password = None if tokens else settings.mailbox_secret(box) or url_password(box.url)
    if not password and not tokens:
        env = f"{ENV_PREFIX}MAILBOX_PASSWORD or " if label == "mailbox" else ""
        raise ConfigError(
            f"{label}: an IMAP mailbox needs a password: set {env}{label}.password_file "
            f"(or {label}.auth to log in with OAuth 2.0)"
        )
    try:
        return ImapMailbox(
            host=parts.hostname,
            port=port,
            username=unquote(parts.username),
            password=password,
            oauth2_token=tokens,
            folder=unquote(parts.path.lstrip("/")) or "INBOX",
            tls=tls,
            processed_folder=box.processed_folder or None,
            quarantine_folder=box.quarantine_folder,
            timeout=box.timeout_seconds,
            ssl_context=trusting(box.ca_file),
            allow_plain_auth=box.allow_plain_auth,
            name=box.name,
        )
    except ValueError as exc:  # e.g. a password without TLS to a host that is not loopback
        raise ConfigError(f"{label}.url: {exc}") from exc


def trusting(ca_file: Path | None) -> ssl.SSLContext | None:
    """A TLS context that also trusts a private CA (`ca_file`); None: the system's store."""
    return ssl.create_default_context(cafile=str(ca_file)) if ca_file else None


def _graph(settings: Settings, box: MailboxSettings, label: str) -> GraphMailbox:
    try:
        mailbox, folder = parse_graph_url(box.url)
    except ValueError as exc:
        raise ConfigError(f"{label}.url: {exc}") from exc
    tokens = graph_tokens(settings, label, box)
    try:
        return GraphMailbox(
            mailbox=mailbox,
            folder=folder,
            tokens=tokens,
            api_url=box.graph_api_url,
            processed_folder=box.processed_folder or None,
            quarantine_folder=box.quarantine_folder,
            timeout=box.timeout_seconds,
            ca_file=box.ca_file,
            name=box.name,
        )
    except ValueError as exc:  # plain http to a host that is not loopback
        raise ConfigError(f"{label}.graph_api_url: {exc}") from exc
