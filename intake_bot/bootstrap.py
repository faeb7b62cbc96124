"""The composition root: settings in, the application wired to real adapters out."""

from __future__ import annotations

import logging
import os
import socket
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from intake_bot.config import ConfigError, Settings, url_password
from intake_bot.domain.approvals import normalise_cag_refs
from intake_bot.forms.generate import blank_docx, blank_xlsx
from intake_bot.mail.compose import FileToAttach
from intake_bot.mail.file_outbox import FileTransport
from intake_bot.mail.imap import ImapMailbox
from intake_bot.mail.maildir import MaildirMailbox
from intake_bot.mail.render import Renderer
from intake_bot.mail.smtp import SmtpTransport
from intake_bot.ports import Clock, Mailbox, MailTransport
from intake_bot.services.intake import Intake
from intake_bot.services.notify import Letterhead, Notifier
from intake_bot.services.polling import Poller
from intake_bot.services.sending import Sender
from intake_bot.store.store import Store
from intake_bot.domain.records import Approval, Organisation

log = logging.getLogger(__name__)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    """Everything an entry point needs. Adapters are made on demand and closed by the caller."""

    settings: Settings
    store: Store
    intake: Intake
    clock: Clock
    worker_id: str

    def open_mailbox(self) -> Mailbox:
        return make_mailbox(self.settings)

    def open_transport(self) -> MailTransport:
        return make_transport(self.settings)

    def poller(self, mailbox: Mailbox) -> Poller:
        mb = self.settings.mailbox
        return Poller(
            mailbox=mailbox,
            intake=self.intake,
            clock=self.clock,
            watched_subject=mb.subject,
            max_attempts=mb.max_attempts,
            fetch_batch=mb.fetch_batch,
            worker_id=self.worker_id,
            lease_ttl=timedelta(seconds=mb.lease_seconds),
        )

    def sender(self, transport: MailTransport) -> Sender:
        out = self.settings.outgoing
        return Sender(
            store=self.store,
            transport=transport,
            clock=self.clock,
            max_attempts=out.max_attempts,
            backoff=timedelta(seconds=out.backoff_seconds),
            claim_for=timedelta(seconds=out.claim_seconds),
        )


def build(settings: Settings, *, clock: Clock = utc_now, store: Store | None = None) -> App:
    """Wire the application. Makes no network connection; opens the database lazily."""
    store = store or Store.from_url(settings.database_url())
    dscro_names = tuple(d.name for d in settings.dscro)
    notifier = Notifier(
        renderer=Renderer(settings.templates_dir()),
        letterhead=Letterhead(
            from_address=settings.outgoing.from_address,
            from_name=settings.outgoing.from_name,
            watched_subject=settings.mailbox.subject,
            replies_per_sender_per_hour=settings.outgoing.replies_per_sender_per_hour,
        ),
        blank_forms=lambda: blank_form_attachments(dscro_names),
    )
    intake = Intake(
        store=store,
        notifier=notifier,
        dscros=dscro_names,
        allowed_domains=tuple(settings.senders.allowed_domains),
        purposes_needing_approval=frozenset(settings.purposes_needing_approval),
        own_addresses=(settings.outgoing.from_address.lower(),),
        targets=settings.targets.model_dump(),
        authserv_id=settings.senders.authserv_id,
        require_dmarc_pass=settings.senders.require_dmarc_pass,
    )
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    return App(settings=settings, store=store, intake=intake, clock=clock, worker_id=worker_id)


@cache
def blank_form_attachments(dscro_names: tuple[str, ...]) -> tuple[FileToAttach, ...]:
    return (
        FileToAttach("legitimate-relationship-request.docx", DOCX, blank_docx(dscro_names)),
        FileToAttach("legitimate-relationship-request.xlsx", XLSX, blank_xlsx(dscro_names)),
    )


def make_mailbox(settings: Settings) -> Mailbox:
    mb = settings.mailbox
    parts = urlsplit(mb.url)
    if parts.scheme == "maildir":
        path = Path(unquote(mb.url.split(":", 1)[1]))
        return MaildirMailbox(
            path, processed_folder=mb.processed_folder, quarantine_folder=mb.quarantine_folder
        )
    if parts.scheme not in ("imap", "imaps"):
        raise ConfigError(
            f"mailbox.url: unknown scheme {parts.scheme!r} (maildir:, imap:// or imaps://)"
        )
    query = parse_qs(parts.query)
    tls = query.get("tls", ["ssl" if parts.scheme == "imaps" else "starttls"])[0]
    if not parts.hostname or not parts.username:
        raise ConfigError(
            "mailbox.url: needs a user and a host, e.g. imaps://intake@mail.example:993/INBOX"
        )
    oauth2 = mb.oauth2_token_file.read_text().strip() if mb.oauth2_token_file else None
    password = settings.mailbox_secret() or url_password(mb.url)
    if not password and not oauth2:
        raise ConfigError("mailbox: set INTAKE_BOT_MAILBOX_PASSWORD or mailbox.password_file")
    return ImapMailbox(
        host=parts.hostname,
        port=parts.port or (993 if parts.scheme == "imaps" else 143),
        username=unquote(parts.username),
        password=password,
        oauth2_token=oauth2,
        folder=unquote(parts.path.lstrip("/")) or "INBOX",
        tls=tls,
        processed_folder=mb.processed_folder or None,
        quarantine_folder=mb.quarantine_folder,
        timeout=mb.timeout_seconds,
        allow_plain_auth=mb.allow_plain_auth,
    )


def make_transport(settings: Settings) -> MailTransport:
    out = settings.outgoing
    parts = urlsplit(out.url)
    if parts.scheme == "file":
        return FileTransport(Path(unquote(out.url.split(":", 1)[1])))
    if parts.scheme not in ("smtp", "smtps"):
        raise ConfigError(
            f"outgoing.url: unknown scheme {parts.scheme!r} (file:, smtp:// or smtps://)"
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
    out = settings.outgoing
    return SmtpTransport(
        host=host,
        port=port or (465 if scheme == "smtps" else 587),
        security=security,
        username=unquote(username) if username else None,
        password=settings.outgoing_secret() or url_password(out.url),
        timeout=out.timeout_seconds,
        allow_plain_auth=out.allow_plain_auth,
    )


def reference_data_from_config(settings: Settings) -> tuple[list[Organisation], list[Approval]]:
    """The organisations and the seeded s251 approvals that `config/` describes."""
    paths = settings.paths
    orgs = [_organisation(i) for i in _read_toml(paths.organisations).get("organisation", [])]
    approvals = [_approval(i) for i in _read_toml(paths.s251).get("approval", [])]
    return orgs, approvals


def load_reference_data(app: App) -> tuple[int, int]:
    """Load organisations and (if the register is empty) the seeded s251 approvals from config/."""
    orgs, approvals = reference_data_from_config(app.settings)
    loaded_approvals = 0
    with app.store.unit() as unit:
        for org in orgs:
            unit.upsert_organisation(org)
        if unit.count_approvals() == 0:
            for approval in approvals:
                unit.add(approval)
            loaded_approvals = len(approvals)
    return len(orgs), loaded_approvals


def _organisation(item: dict[str, object]) -> Organisation:
    contacts = item.get("contacts", [])
    return Organisation(
        ods=str(item["ods"]).strip().upper(),
        name=str(item["name"]),
        type=str(item.get("type", "Other")),
        contacts=[str(c) for c in contacts] if isinstance(contacts, list) else [],
    )


def _approval(item: dict[str, object]) -> Approval:
    refs = normalise_cag_refs(str(item["reference"]))
    expires = item["expires"]
    if not isinstance(expires, date):
        raise ConfigError(f"s251 approval {item['reference']}: expires must be a date")
    purposes = item.get("purposes", [])
    return Approval(
        reference=refs[0] if refs else str(item["reference"]),
        title=str(item.get("title", "")),
        purposes=[str(p) for p in purposes] if isinstance(purposes, Sequence) else [],
        expires=expires,
    )


def _read_toml(path: Path) -> dict[str, list[dict[str, object]]]:
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
