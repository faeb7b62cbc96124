"""Which check each mailbox and the outgoing server get (`intake-bot check`), by URL scheme,
read from the settings as the worker reads them. A new kind of source is one more entry in
MAILBOX_PROBES: a function that yields its findings, like `_imap`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

from intake_bot.config import (
    ConfigError,
    MailboxSettings,
    OutgoingSettings,
    Settings,
    mask_url,
    url_password,
)
from intake_bot.domain.connectivity import OUTGOING, Finding, mailbox_subject
from intake_bot.mail.graph import parse_url as parse_graph_url
from intake_bot.mail.graph_http import check_api_url
from intake_bot.mail.graph_probe import GraphCheck, probe_graph_mailbox, probe_graph_outgoing
from intake_bot.mail.imap_probe import ImapCheck, probe_imap
from intake_bot.mail.local_probe import MaildirCheck, probe_file_outbox, probe_maildir
from intake_bot.mail.oauth import auth_kind, graph_tokens
from intake_bot.mail.probe_auth import Login, login_for
from intake_bot.mail.probe_net import Server
from intake_bot.mail.smtp import SECURITY_MODES
from intake_bot.mail.smtp_probe import probe_smtp
from intake_bot.mail.sources import open_source

MailboxProbe = Callable[[Settings, MailboxSettings], Iterator[Finding]]
SETTINGS_FIX = "`intake-bot config --check` lists every problem in the settings"


def probe_mailbox(settings: Settings, name: str) -> Iterator[Finding]:
    """The findings of the mailbox called `name` in the settings."""
    box = next(b for b in settings.mailboxes if b.name == name)
    scheme = urlsplit(box.url).scheme
    probe = MAILBOX_PROBES.get(scheme)
    if probe is None:
        label = settings.mailbox_label(box)
        detail = f"{label}.url: unknown scheme {scheme!r}"
        fix = "use maildir:PATH, imap://, imaps:// or graph://"
        yield Finding(mailbox_subject(box.name), "settings", False, detail, fix)
        return
    yield from probe(settings, box)


def probe_outgoing(settings: Settings) -> Iterator[Finding]:
    """The findings of the outgoing server: the file outbox, or SMTP."""
    url = settings.outgoing.url
    parts = urlsplit(url)
    if parts.scheme == "file":
        yield Finding(OUTGOING, "settings", True, f"{url}: replies are written as .eml files")
        yield from probe_file_outbox(OUTGOING, "outgoing.url", Path(unquote(url.split(":", 1)[1])))
        return
    if parts.scheme == "graph":
        yield from _graph_outgoing(settings)
        return
    try:
        server, login = _smtp_settings(settings, parts)
    except ConfigError as exc:
        yield Finding(OUTGOING, "settings", False, _one_line(exc), SETTINGS_FIX)
        return
    how = login.describe() if login else "no login"
    yield Finding(OUTGOING, "settings", True, f"{mask_url(url)}: {how}")
    yield from probe_smtp(server, login)


def _maildir(settings: Settings, box: MailboxSettings) -> Iterator[Finding]:
    subject = mailbox_subject(box.name)
    label = settings.mailbox_label(box)
    path = unquote(box.url.split(":", 1)[1])
    if not path:
        yield Finding(subject, "settings", False, f"{label}.url: name the folder", SETTINGS_FIX)
        return
    yield Finding(subject, "settings", True, f"{box.url}: a Maildir on this machine")
    yield from probe_maildir(
        MaildirCheck(
            subject=subject,
            setting=f"{label}.url",
            path=Path(path),
            processed_folder=box.processed_folder or None,
            quarantine_folder=box.quarantine_folder,
            watched_subject=box.subject,
        )
    )


def _imap(settings: Settings, box: MailboxSettings) -> Iterator[Finding]:
    subject = mailbox_subject(box.name)
    try:
        check, login = _imap_settings(settings, box)
    except ConfigError as exc:
        yield Finding(subject, "settings", False, _one_line(exc), SETTINGS_FIX)
        return
    yield Finding(subject, "settings", True, f"{mask_url(box.url)}: {login.describe()}")
    yield from probe_imap(check, login)


def _graph(settings: Settings, box: MailboxSettings) -> Iterator[Finding]:
    subject = mailbox_subject(box.name)
    try:
        check = _graph_mailbox_settings(settings, box)
    except ConfigError as exc:
        yield Finding(subject, "settings", False, _one_line(exc), SETTINGS_FIX)
        return
    yield Finding(subject, "settings", True, _graph_said(box.url, check))
    yield from probe_graph_mailbox(check)


def _graph_outgoing(settings: Settings) -> Iterator[Finding]:
    try:
        check = _graph_outgoing_settings(settings)
    except ConfigError as exc:
        yield Finding(OUTGOING, "settings", False, _one_line(exc), SETTINGS_FIX)
        return
    yield Finding(OUTGOING, "settings", True, _graph_said(settings.outgoing.url, check))
    yield from probe_graph_outgoing(check)


MAILBOX_PROBES: dict[str, MailboxProbe] = {
    "maildir": _maildir,
    "imap": _imap,
    "imaps": _imap,
    "graph": _graph,
}


def _imap_settings(settings: Settings, box: MailboxSettings) -> tuple[ImapCheck, Login]:
    """What the check needs, read as `sources.open_source` reads it; ConfigError if it cannot."""
    open_source(settings, box).close()  # the worker's own reading: no connection is made
    label = settings.mailbox_label(box)
    parts = urlsplit(box.url)
    tls = parse_qs(parts.query).get("tls", ["ssl" if parts.scheme == "imaps" else "starttls"])[0]
    username = unquote(parts.username or "")
    password = settings.mailbox_secret(box) or url_password(box.url)
    login = login_for(settings, label, box, "imap", username, password)
    server = Server(
        subject=mailbox_subject(box.name),
        setting=f"{label}.url",
        label=label,
        host=parts.hostname or "",
        port=parts.port or (993 if parts.scheme == "imaps" else 143),
        tls=tls,
        timeout=box.timeout_seconds,
        ca_file=box.ca_file,
    )
    check = ImapCheck(
        server=server,
        folder=unquote(parts.path.lstrip("/")) or "INBOX",
        processed_folder=box.processed_folder or None,
        quarantine_folder=box.quarantine_folder,
        watched_subject=box.subject,
        poll_interval=box.poll_interval_seconds,
    )
    return check, login


def _graph_mailbox_settings(settings: Settings, box: MailboxSettings) -> GraphCheck:
    """What the check needs, read as `sources.open_source` reads it; ConfigError if it cannot."""
    open_source(settings, box).close()  # the worker's own reading: no connection is made
    label = settings.mailbox_label(box)
    mailbox, folder = parse_graph_url(box.url)
    check = _graph_check(settings, mailbox_subject(box.name), label, box, mailbox)
    return replace(
        check,
        folder=folder,
        processed_folder=box.processed_folder or None,
        quarantine_folder=box.quarantine_folder or None,
        watched_subject=box.subject,
    )


def _graph_outgoing_settings(settings: Settings) -> GraphCheck:
    """What the check needs, read as `bootstrap.make_transport` reads a graph:// URL."""
    parts = urlsplit(settings.outgoing.url)
    mailbox = unquote(parts.netloc)
    if not mailbox or ":" in mailbox or parts.path.strip("/"):
        raise ConfigError("outgoing.url: name the mailbox that sends, e.g. graph://dsfc@nhs.net")
    return _graph_check(settings, OUTGOING, OUTGOING, settings.outgoing, mailbox)


def _graph_check(
    settings: Settings,
    subject: str,
    label: str,
    block: MailboxSettings | OutgoingSettings,
    mailbox: str,
) -> GraphCheck:
    provider = graph_tokens(settings, label, block)
    try:
        api_url = check_api_url(block.graph_api_url)
    except ValueError as exc:
        raise ConfigError(f"{label}.graph_api_url: {exc}") from exc
    api = urlsplit(api_url)
    server = Server(
        subject=subject,
        setting=f"{label}.graph_api_url",
        label=label,
        host=api.hostname or "",
        port=api.port or (443 if api.scheme == "https" else 80),
        tls="ssl" if api.scheme == "https" else "none",
        timeout=block.timeout_seconds,
        ca_file=block.ca_file,
    )
    login = Login(mailbox, auth_kind(block), provider=provider)
    return GraphCheck(server, login, api_url, mailbox, url_setting=f"{label}.url")


def _graph_said(url: str, check: GraphCheck) -> str:
    return f"{url} through {check.api_url}: {check.login.describe()}"


def _smtp_settings(settings: Settings, parts: SplitResult) -> tuple[Server, Login | None]:
    """What the check needs, read as `bootstrap.make_transport` reads it."""
    out = settings.outgoing
    example = "smtp://intake@smtp.example.nhs.uk:587"
    if parts.scheme not in ("smtp", "smtps"):
        raise ConfigError(
            f"outgoing.url: unknown scheme {parts.scheme!r} (file:, smtp:// or smtps://)"
        )
    if not parts.hostname:
        raise ConfigError(f"outgoing.url: needs a host, e.g. {example}")
    security = parse_qs(parts.query).get("tls", ["ssl" if parts.scheme == "smtps" else "starttls"])
    if security[0] not in SECURITY_MODES:
        raise ConfigError(
            f"outgoing.url: tls={security[0]} is not one of {', '.join(SECURITY_MODES)}"
        )
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 587)
    except ValueError as exc:
        raise ConfigError(f"outgoing.url: {exc}, e.g. {example}") from exc
    username = unquote(parts.username) if parts.username else None
    if username and security[0] == "none" and not out.allow_plain_auth:
        raise ConfigError(f"outgoing.url: refusing to log in to {parts.hostname} without TLS")
    login: Login | None = None
    if username:
        password = settings.outgoing_secret() or url_password(out.url)
        login = login_for(settings, OUTGOING, out, "smtp", username, password)
    elif auth_kind(out) != "password":
        raise ConfigError(f"outgoing.url: {auth_kind(out)} needs the user, e.g. {example}")
    server = Server(
        subject=OUTGOING,
        setting="outgoing.url",
        label=OUTGOING,
        host=parts.hostname,
        port=port,
        tls=security[0],
        timeout=out.timeout_seconds,
        ca_file=out.ca_file,
    )
    return server, login


def _one_line(exc: ConfigError) -> str:
    return " ".join(str(exc).split())
