"""The composition root: settings in, the application wired to real adapters out."""

from __future__ import annotations

import logging
import os
import socket
import tomllib
from collections.abc import Sequence
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from argon2 import PasswordHasher

from intake_bot.application import Application
from intake_bot.config import ConfigError, Settings, url_password
from intake_bot.domain.approvals import normalise_cag_refs
from intake_bot.domain.outgoing import FileToAttach
from intake_bot.domain.records import Approval, Organisation
from intake_bot.forms.generate import blank_docx, blank_xlsx
from intake_bot.forms.limits import ReadLimits
from intake_bot.forms.version_files import load_form_versions
from intake_bot.mail.compose import MimeComposer
from intake_bot.mail.file_outbox import FileTransport
from intake_bot.mail.graph_send import GraphTransport
from intake_bot.mail.maildir import deliver
from intake_bot.mail.oauth import graph_tokens, known_credentials, provider_for, sign_in
from intake_bot.mail.probes import probe_mailbox, probe_outgoing
from intake_bot.mail.render import Renderer
from intake_bot.mail.smtp import SmtpTransport
from intake_bot.mail.sources import open_source, trusting
from intake_bot.ports import Clock, MailTransport
from intake_bot.services.connectivity import Connectivity
from intake_bot.services.credentials import Credentials
from intake_bot.services.database import Database
from intake_bot.services.digests import Digests
from intake_bot.services.intake import Intake
from intake_bot.services.lifecycle import Requests
from intake_bot.services.mailboxes import Mailboxes
from intake_bot.services.messages import Messages
from intake_bot.services.notify import Letterhead, Notifier
from intake_bot.services.outbox import OutboxAdmin
from intake_bot.services.queues import Queues, offices_of
from intake_bot.services.register import Register
from intake_bot.services.retention import Retention
from intake_bot.services.s251 import S251
from intake_bot.services.staff import Staff
from intake_bot.store.migrate import AlembicSchema
from intake_bot.store.store import Store

log = logging.getLogger(__name__)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def utc_now() -> datetime:
    return datetime.now(UTC)


App = Application  # the name the tests and benchmarks know


def build(settings: Settings, *, clock: Clock = utc_now, store: Store | None = None) -> Application:
    """Wire the application. Makes no network connection; opens the database lazily."""
    store = store or Store.from_url(settings.database_url())
    dscro_names = tuple(d.name for d in settings.dscro)
    notifier = Notifier(
        renderer=Renderer(settings.templates_dir()),
        composer=MimeComposer(),
        letterhead=Letterhead(
            from_address=settings.outgoing.from_address,
            from_name=settings.outgoing.from_name,
            watched_subject=settings.mailbox.subject,
            replies_per_sender_per_hour=settings.outgoing.replies_per_sender_per_hour,
            console_url=settings.web.base_url,
        ),
        blank_forms=lambda: blank_form_attachments(dscro_names),
    )
    intake = Intake(
        limits=ReadLimits(
            **settings.limits.model_dump(),
            form_versions=load_form_versions(settings.paths.forms),
        ),
        office_staff={d.name: tuple(d.staff) for d in settings.dscro},
        store=store,
        notifier=notifier,
        clock=clock,
        dscros=dscro_names,
        watched_subject=settings.mailbox.subject,
        config_reference=lambda: reference_data_from_config(settings),
        database_present=lambda: database_present(settings.database_url()),
        allowed_domains=tuple(settings.senders.allowed_domains),
        purposes_needing_approval=frozenset(settings.purposes_needing_approval),
        own_addresses=(settings.outgoing.from_address.lower(),),
        targets=settings.targets.model_dump(),
        authserv_id=settings.senders.authserv_id,
        require_dmarc_pass=settings.senders.require_dmarc_pass,
    )
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    credentials = Credentials(
        store=store,
        notifier=notifier,
        clock=clock,
        recipients=alert_recipients(settings),
        known=lambda: known_credentials(settings),
        signer=lambda name, show: sign_in(settings, name, show),
    )
    return Application(
        settings=settings,
        store=store,
        database=Database(
            store=store,
            schema=AlembicSchema(store),
            config_reference=lambda: reference_data_from_config(settings),
        ),
        intake=intake,
        mailboxes=Mailboxes(
            intake=intake,
            clock=clock,
            worker_id=worker_id,
            boxes=settings.mailboxes,
            open_source=lambda box: open_source(settings, box),
            credentials=credentials,
        ),
        outbox=OutboxAdmin(store=store, clock=clock),
        register=Register(store=store, clock=clock, dscros=dscro_names),
        s251=S251(
            store=store,
            notifier=notifier,
            clock=clock,
            offices=settings.dscro,
            offsets=settings.reminders.offsets_days,
            timezone=settings.timezone,
        ),
        requests=Requests(
            store=store, notifier=notifier, clock=clock, targets=settings.targets.model_dump()
        ),
        queues=Queues(store=store, clock=clock, offices=settings.dscro),
        messages=Messages(store=store, notifier=notifier, clock=clock, reingest=intake.ingest),
        digests=Digests(
            store=store,
            notifier=notifier,
            clock=clock,
            offices=settings.dscro,
            timezone=settings.timezone,
        ),
        retention=Retention(store=store, clock=clock, closed_days=settings.retention.closed_days),
        staff=Staff(
            store=store, clock=clock, offices=offices_of(settings.dscro), hasher=PasswordHasher()
        ),
        credentials=credentials,
        connectivity=Connectivity(
            mailboxes=[box.name for box in settings.mailboxes],
            probe_mailbox=lambda name: probe_mailbox(settings, name),
            probe_outgoing=lambda: probe_outgoing(settings),
        ),
        clock=clock,
        worker_id=worker_id,
        open_transport=lambda: make_transport(settings),
        deliver_sample=lambda raw: deliver_to_maildir(settings, raw),
    )


def alert_recipients(settings: Settings) -> list[str]:
    """Who hears of stopped mailboxes and expiring credentials: alert_addresses, else the
    staff of every office (each address once)."""
    chosen = settings.alert_addresses or [a for office in settings.dscro for a in office.staff]
    return list(dict.fromkeys(chosen))


def database_present(url: str) -> bool:
    """Whether there is a database to read: a SQLite file that does not exist is not one
    (opening it would create it empty)."""
    if not url.startswith("sqlite"):
        return True
    database = unquote(urlsplit(url).path)[1:]  # sqlite:///var/x.db -> var/x.db
    return database in ("", ":memory:") or Path(database).is_file()


@cache
def blank_form_attachments(dscro_names: tuple[str, ...]) -> tuple[FileToAttach, ...]:
    return (
        FileToAttach("legitimate-relationship-request.docx", DOCX, blank_docx(dscro_names)),
        FileToAttach("legitimate-relationship-request.xlsx", XLSX, blank_xlsx(dscro_names)),
    )


def make_transport(settings: Settings) -> MailTransport:
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


def reference_data_from_config(settings: Settings) -> tuple[list[Organisation], list[Approval]]:
    """The organisations and the seeded s251 approvals that `config/` describes."""
    paths = settings.paths
    orgs = [_organisation(i) for i in _read_toml(paths.organisations).get("organisation", [])]
    approvals = [_approval(i) for i in _read_toml(paths.s251).get("approval", [])]
    return orgs, approvals


def load_reference_data(app: Application) -> tuple[int, int]:
    """Load organisations and (into an empty register) the seeded s251 approvals from config/."""
    return app.database.load_reference_data()


def deliver_to_maildir(settings: Settings, raw: bytes) -> None:
    """Put one message in the first mailbox, which must be a local Maildir (the demo's)."""
    url = settings.mailbox.url
    if not url.startswith("maildir:"):
        raise ConfigError("mailbox.url: the demo writes into a local Maildir: use maildir:PATH")
    deliver(Path(unquote(url.split(":", 1)[1])), raw)


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
