"""The composition root: settings in, the application wired to real adapters out."""

from __future__ import annotations

import logging
import os
import socket
import tomllib
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from intake_bot.application import Application
from intake_bot.config import ConfigError, Settings
from intake_bot.config_types import as_dict
from intake_bot.domain.approvals import normalise_cag_refs
from intake_bot.domain.outgoing import FileToAttach
from intake_bot.domain.records import Approval, Organisation
from intake_bot.mail.outgoing import make_transport as make_transport  # checks and tests use it

if TYPE_CHECKING:
    from intake_bot.ports import Clock, MailTransport, Unit
    from intake_bot.ports import Store as StorePort
    from intake_bot.ports_reads import OpenParseReads
    from intake_bot.services.connectivity import Connectivity
    from intake_bot.services.credentials import Credentials
    from intake_bot.services.database import Database
    from intake_bot.services.digests import Digests
    from intake_bot.services.intake import Intake
    from intake_bot.services.lifecycle import Requests
    from intake_bot.services.mailboxes import Mailboxes
    from intake_bot.services.messages import Messages
    from intake_bot.services.notify import Notifier
    from intake_bot.services.ods import Organisations
    from intake_bot.services.outbox import OutboxAdmin
    from intake_bot.services.queues import Queues
    from intake_bot.services.register import Register
    from intake_bot.services.retention import Retention
    from intake_bot.services.s251 import S251
    from intake_bot.services.staff import Staff
    from intake_bot.store.store import Store

# Each use case, and each adapter under it, is imported when it is first made (`Wired`): a command
# pays only for what it uses (SQLAlchemy alone costs ~0.2 s to import; the mail stack, Jinja2,
# openpyxl and argon2 as much again), so `intake-bot parse` and `queue` start quickly.

log = logging.getLogger(__name__)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def utc_now() -> datetime:
    return datetime.now(UTC)


App = Application  # the name the tests and benchmarks know


def build(settings: Settings, *, clock: Clock = utc_now, store: Store | None = None) -> Application:
    """Wire the application. Makes no network connection; opens the database lazily."""
    return Wired(settings, clock=clock, store=store)


class Wired(Application):
    """The application on the real adapters: each part made (and imported) on first use."""

    def __init__(self, settings: Settings, *, clock: Clock, store: Store | None) -> None:
        super().__init__(settings, clock=clock, worker_id=f"{socket.gethostname()}:{os.getpid()}")
        self._store = store
        self._dscro_names = tuple(d.name for d in settings.dscro)

    @cached_property
    def store(self) -> Store:
        from intake_bot.store.store import Store

        return self._store or Store.from_url(self.settings.database_url())

    @cached_property
    def notifier(self) -> Notifier:
        from intake_bot.mail.compose import MimeComposer
        from intake_bot.mail.render import Renderer
        from intake_bot.services.notify import Letterhead, Notifier

        settings, names = self.settings, self._dscro_names
        return Notifier(
            renderer=Renderer(settings.templates_dir()),
            composer=MimeComposer(),
            letterhead=Letterhead(
                from_address=settings.outgoing.from_address,
                from_name=settings.outgoing.from_name,
                watched_subject=settings.mailbox.subject,
                replies_per_sender_per_hour=settings.outgoing.replies_per_sender_per_hour,
                console_url=settings.web.base_url,
            ),
            blank_forms=lambda: blank_form_attachments(names),
        )

    @cached_property
    def database(self) -> Database:
        from intake_bot.services.database import Database
        from intake_bot.store.migrate import AlembicSchema

        return Database(
            store=self.store,
            schema=AlembicSchema(self.store),
            config_reference=lambda: reference_data_from_config(self.settings),
        )

    @cached_property
    def intake(self) -> Intake:
        return self._intake(_StoreOnFirstUnit(self))

    @cached_property
    def previews(self) -> Intake:
        from intake_bot.store.sqlite_parse_reads import parse_reads

        store = _StoreOnFirstUnit(self)
        # On SQLite a preview reads with the standard library's driver: no ORM to import.
        reads = parse_reads(self.settings.database_url(), otherwise=store.unit)
        return self._intake(store, reads=reads)

    def _intake(self, store: StorePort, reads: OpenParseReads | None = None) -> Intake:
        from intake_bot.forms.limits import ReadLimits
        from intake_bot.forms.version_files import load_form_versions
        from intake_bot.services.intake import Intake

        settings = self.settings
        return Intake(
            limits=ReadLimits(
                **as_dict(settings.limits),
                form_versions=load_form_versions(settings.paths.forms),
            ),
            office_staff={d.name: tuple(d.staff) for d in settings.dscro},
            store=store,
            parse_reads=reads,
            notifier=self.notifier,
            clock=self.clock,
            dscros=self._dscro_names,
            dscro_aliases={d.name: tuple(d.aliases) for d in settings.dscro},
            watched_subject=settings.mailbox.subject,
            config_reference=lambda: reference_data_from_config(settings),
            database_present=lambda: database_present(settings.database_url()),
            allowed_domains=tuple(settings.senders.allowed_domains),
            purposes_needing_approval=frozenset(settings.purposes_needing_approval),
            own_addresses=(settings.outgoing.from_address.lower(),),
            targets=as_dict(settings.targets),
            authserv_id=settings.senders.authserv_id,
            require_dmarc_pass=settings.senders.require_dmarc_pass,
        )

    @cached_property
    def mailboxes(self) -> Mailboxes:
        from intake_bot.mail.sources import open_source
        from intake_bot.services.mailboxes import Mailboxes
        from intake_bot.services.reading import reader

        settings, intake = self.settings, self.intake
        return Mailboxes(
            intake=intake,
            clock=self.clock,
            worker_id=self.worker_id,
            boxes=settings.mailboxes,
            open_source=lambda box: open_source(settings, box),
            credentials=self.credentials,
            reader=reader(
                settings.limits.parse_workers,
                own_addresses=intake.own_addresses,
                limits=intake.limits,
            ),
        )

    @cached_property
    def credentials(self) -> Credentials:
        from intake_bot.mail.oauth import known_credentials, sign_in
        from intake_bot.services.credentials import Credentials

        settings = self.settings
        return Credentials(
            store=self.store,
            notifier=self.notifier,
            clock=self.clock,
            recipients=alert_recipients(settings),
            known=lambda: known_credentials(settings),
            signer=lambda name, show: sign_in(settings, name, show),
        )

    @cached_property
    def outbox(self) -> OutboxAdmin:
        from intake_bot.services.outbox import OutboxAdmin

        return OutboxAdmin(store=self.store, clock=self.clock)

    @cached_property
    def register(self) -> Register:
        from intake_bot.services.register import Register

        return Register(
            store=self.store,
            clock=self.clock,
            dscros=self._dscro_names,
            office_aliases={d.name: tuple(d.aliases) for d in self.settings.dscro},
            notifier=self.notifier,
        )

    @cached_property
    def s251(self) -> S251:
        from intake_bot.services.s251 import S251

        settings = self.settings
        return S251(
            store=self.store,
            notifier=self.notifier,
            clock=self.clock,
            offices=settings.dscro,
            offsets=settings.reminders.offsets_days,
            timezone=settings.timezone,
        )

    @cached_property
    def requests(self) -> Requests:
        from intake_bot.services.lifecycle import Requests

        targets = as_dict(self.settings.targets)
        return Requests(store=self.store, notifier=self.notifier, clock=self.clock, targets=targets)

    @cached_property
    def queues(self) -> Queues:
        from intake_bot.services.queues import Queues
        from intake_bot.store.sqlite_reads import queue_reads

        store = _StoreOnFirstUnit(self)
        # On SQLite the listing is read with the standard library's driver: no ORM to import.
        reads = queue_reads(self.settings.database_url(), otherwise=store.unit)
        return Queues(store=store, clock=self.clock, offices=self.settings.dscro, reads=reads)

    @cached_property
    def messages(self) -> Messages:
        from intake_bot.services.messages import Messages

        return Messages(
            store=self.store, notifier=self.notifier, clock=self.clock, intake=self.intake
        )

    @cached_property
    def digests(self) -> Digests:
        from intake_bot.services.digests import Digests

        settings = self.settings
        return Digests(
            store=self.store,
            notifier=self.notifier,
            clock=self.clock,
            offices=settings.dscro,
            timezone=settings.timezone,
        )

    @cached_property
    def retention(self) -> Retention:
        from intake_bot.services.retention import Retention

        closed_days = self.settings.retention.closed_days
        return Retention(store=self.store, clock=self.clock, closed_days=closed_days)

    @cached_property
    def staff(self) -> Staff:
        from argon2 import PasswordHasher

        from intake_bot.services.queues import offices_of
        from intake_bot.services.staff import Staff

        offices = offices_of(self.settings.dscro)
        return Staff(store=self.store, clock=self.clock, offices=offices, hasher=PasswordHasher())

    @cached_property
    def connectivity(self) -> Connectivity:
        from intake_bot.mail.probes import probe_mailbox, probe_outgoing
        from intake_bot.services.connectivity import Connectivity

        _ = self.store  # a database.url that cannot work is named before any mailbox is tried
        return Connectivity(
            mailboxes=[box.name for box in self.settings.mailboxes],
            probe_mailbox=lambda name: probe_mailbox(self.settings, name),
            probe_outgoing=lambda: probe_outgoing(self.settings),
        )

    @cached_property
    def organisations(self) -> Organisations:
        from intake_bot.ods import read_ods_file
        from intake_bot.services.ods import Organisations

        return Organisations(
            store=self.store, notifier=self.notifier, clock=self.clock, read_file=read_ods_file
        )

    def open_transport(self) -> MailTransport:
        return make_transport(self.settings)

    def deliver_sample(self, raw: bytes) -> None:
        deliver_to_maildir(self.settings, raw)

    def blank_form(self, suffix: str) -> bytes:
        return self.notifier.blank_form(suffix)


class _StoreOnFirstUnit:
    """The store port, the application's store made when a unit is first asked for: opening it
    imports SQLAlchemy (~0.25 s), which `intake-bot parse` with no database to read never needs."""

    def __init__(self, app: Application) -> None:
        self._app = app

    def unit(self) -> AbstractContextManager[Unit]:
        return self._app.store.unit()


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
    from intake_bot.forms.generate import blank_docx, blank_xlsx

    return (
        FileToAttach("legitimate-relationship-request.docx", DOCX, blank_docx(dscro_names)),
        FileToAttach("legitimate-relationship-request.xlsx", XLSX, blank_xlsx(dscro_names)),
    )


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
    from intake_bot.mail.maildir import deliver

    deliver(Path(unquote(url.split(":", 1)[1])), raw)


def _organisation(item: dict[str, object]) -> Organisation:
    contacts = item.get("contacts", [])
    return Organisation(
        ods=str(item["ods"]).strip().upper(),
        name=str(item.get("name", "")),  # ODS gives it, once a list is imported
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
