"""s251 reminders with the clock moved day by day, counted where they arrive: a real SMTP server.

Both clocks move together: the app's FrozenClock, and the process clock through time-machine, so
that nothing on the way can read the real time unnoticed. The job runs at 07:00 in London, as the
worker's cron does. The year test runs on SQLite; the shorter ones on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlmodel import select
from typer.testing import CliRunner, Result

from intake_bot.bootstrap import App, build, load_reference_data
from intake_bot.cli import app as cli_app
from intake_bot.domain.approvals import ApprovalError, has_expired
from intake_bot.domain.legal_basis import approvals_relied_on, legal_basis_expired
from intake_bot.domain.records import (
    Approval,
    Relationship,
    RelationshipVersion,
    ReminderSent,
    StaffAlert,
)
from intake_bot.domain.reminders import EXPIRY_NOTICE, ReminderReport
from intake_bot.domain.triage import parse_request_reference
from intake_bot.mail.compose import MimeComposer
from intake_bot.mail.render import Renderer
from intake_bot.ports import MailTransport, MessageRef
from intake_bot.ports import Unit as PortUnit
from intake_bot.samples import DOCX, docx_form, email, new_request
from intake_bot.services.approvals import (
    add_approval,
    extend_approval,
    list_approvals,
    relationships_relying_on,
)
from intake_bot.services.notify import Letterhead, Notifier
from intake_bot.services.register import apply_approved_request
from intake_bot.services.reminder_mail import (
    Relied,
    SummaryRow,
    expired_context,
    reminder_context,
    summary_context,
)
from intake_bot.services.reminders import send_reminders
from intake_bot.store import migrate
from intake_bot.store.store import Store, Unit
from intake_bot.worker import Worker
from tests.conftest import REPO, FrozenClock, make_settings, sql_store
from tests.servers import ReceivedMessage, SmtpServer

pytestmark = pytest.mark.integration

LONDON = ZoneInfo("Europe/London")
EXPIRY = date(2017, 3, 31)
OFFSETS = (90, 60, 30, 14, 7, 1)
SEEDED = (
    "CAG 2-03(a)/2013",
    "CAG 7-04(a)/2013",
    "CAG 7-07(a)/2013",
    "CAG 7-07(b)/2013",
    "CAG 7-07(c)/2013",
)
OFFICES = ("North", "Midlands and East", "London", "South")
SNAPSHOTS = REPO / "tests" / "snapshots"
T = TypeVar("T")  # a domain record, mapped onto its table (store/mapping.py)


def at_seven(day: date) -> datetime:
    """07:00 in London on `day` (the reminders cron), as an aware UTC datetime."""
    return datetime.combine(day, time(7), tzinfo=LONDON).astimezone(UTC)


def reminder_day(offset: int) -> date:
    return EXPIRY - timedelta(days=offset)


# --- the register of 50 relationships -----------------------------------------------------------


@dataclass(frozen=True)
class Rel:
    """One relationship as the test knows it, to work out what the register should get."""

    number: int
    approvals: tuple[str, ...]
    requester: str
    authoriser: str
    office: str | None
    ended_on: date | None = None

    @property
    def reference(self) -> str:
        return f"LCR-{self.number:06d}"

    def recipients(self) -> tuple[str, ...]:
        found: list[str] = []
        for address in (self.requester, self.authoriser):
            if address and address.lower() not in found:
                found.append(address.lower())
        return tuple(sorted(found))

    def active_on(self, day: date) -> bool:
        return self.ended_on is None or self.ended_on > day


def register_of_50() -> list[Rel]:
    """Fifty relationships over the five seeded approvals and four offices, with the odd ones a
    real register has: a CSU asking for five CCGs, one person as requester and authoriser, no
    addresses at all, no regional office, and one that ends before the approvals expire."""
    rels = []
    for n in range(1, 51):
        approvals = [SEEDED[n % 5]]
        if n % 3 == 0 and SEEDED[0] not in approvals:
            approvals.append(SEEDED[0])  # invoice validation within the safe-haven approval
        requester, authoriser = f"requester.{n:02d}@nhs.net", f"siro.{n:02d}@nhs.net"
        office: str | None = OFFICES[n % 4]
        ended_on = None
        if 41 <= n <= 45:  # one CSU's requests for five CCGs: one email a reminder day
            approvals, office = ["CAG 7-07(c)/2013"], "North"
            requester, authoriser = "csu.requests@nhs.net", "csu.siro@nhs.net"
        elif n == 46:
            authoriser = "Requester.46@NHS.net"  # the same person twice
        elif n == 47:
            requester = authoriser = ""  # imported from an old register without addresses
        elif n == 48:
            office = None  # no regional office: the requester is still reminded
        elif n == 49:
            ended_on = date(2017, 2, 15)  # after the 60-day reminder, before the 30-day one
        rels.append(Rel(n, tuple(approvals), requester, authoriser, office, ended_on))
    return rels


def add_relationships(app: App, rels: list[Rel], now: datetime) -> None:
    with app.store.unit() as unit:
        for rel in rels:
            row = unit.add(
                Relationship(
                    reference=rel.reference,
                    dscro=rel.office,
                    commissioner_ods=f"{rel.number:02d}X",
                    ended_on=rel.ended_on,
                    created_at=now,
                    updated_at=now,
                )
            )
            unit.flush()
            assert row.id is not None
            unit.add(
                RelationshipVersion(
                    relationship_id=row.id,
                    version=1,
                    values=_values(rel),
                    effective_from=date(2016, 4, 1),
                    source="test register",
                    created_at=now,
                )
            )


def _values(rel: Rel) -> dict[str, Any]:
    return {
        "commissioner_name": f"NHS Test {rel.number:02d} CCG",
        "commissioner_ods": f"{rel.number:02d}X",
        "commissioner_type": "CCG",
        "processor_name": "North of England CSU",
        "processor_ods": "0AR",
        "dscro": rel.office or "",
        "purposes": ["Invoice validation", "Risk stratification"],
        "s251_references": list(rel.approvals),
        "requester_name": f"Requester {rel.number}",
        "requester_email": rel.requester,
        "authoriser_name": f"Caldicott Guardian {rel.number}",
        "authoriser_email": rel.authoriser,
    }


# --- what should arrive, and what did ------------------------------------------------------------

Key = tuple[Any, ...]


def expected_on(
    day: date, rels: list[Rel], staff: dict[str, list[str]], expiry: dict[str, date] | None = None
) -> Counter[Key]:
    """The emails due on `day` when the job runs every day: one reminder per approval, offset and
    set of addresses; a summary per office; on the expiry day an alert per office and approval."""
    expiry = expiry or dict.fromkeys(SEEDED, EXPIRY)
    emails: set[Key] = set()
    per_office: Counter[str] = Counter()
    expired: Counter[tuple[str, str]] = Counter()
    for rel in rels:
        if not rel.active_on(day):
            continue
        for approval in rel.approvals:
            offset = (expiry[approval] - day).days
            if offset not in (*OFFSETS, EXPIRY_NOTICE):
                continue
            if rel.recipients():
                emails.add(("reminder", approval, expiry[approval], offset, rel.recipients()))
            if rel.office:
                per_office[rel.office] += 1
                if offset == EXPIRY_NOTICE:
                    expired[(approval, rel.office)] += 1
    found: Counter[Key] = Counter(emails)
    for office, n in per_office.items():
        found[("summary", office, n, tuple(staff[office]))] += 1
    for (approval, office), n in expired.items():
        found[("expired", approval, office, n, tuple(staff[office]))] += 1
    return found


_REMINDER = re.compile(
    r"Section 251 approval (CAG \S+) "
    r"(?:expires on (\S+) \((\d+) days? left\)|expires today|expired on \S+) - "
)
_SUMMARY = re.compile(r"DSfC (.+): (\d+) section 251 reminders?(?:, \d+ not sent)? - ")
_EXPIRED = re.compile(
    r"DSfC (.+): section 251 approval (CAG \S+) (?:expires today|expired on \S+) - "
    r"(\d+) relationships? flagged"
)


def key_of(message: ReceivedMessage, today: date) -> Key:
    """What a received email is, in the terms of `expected_on`."""
    parsed = message_from_bytes(message.raw, policy=default)
    subject = str(parsed["Subject"])
    to = tuple(sorted(a.lower() for a in message.rcpt_tos))
    assert parsed["Auto-Submitted"] == "auto-generated"
    if m := _REMINDER.match(subject):
        if m[2] is None:
            return ("reminder", m[1], today, EXPIRY_NOTICE, to)
        expires = datetime.strptime(m[2], "%d/%m/%Y").date()
        return ("reminder", m[1], expires, int(m[3]), to)
    if m := _SUMMARY.match(subject):
        return ("summary", m[1], int(m[2]), to)
    if m := _EXPIRED.match(subject):
        return ("expired", m[2], m[1], int(m[3]), to)
    raise AssertionError(f"unexpected email: {subject}")


# --- the apps, the clocks and the SMTP server -----------------------------------------------------


def smtp_app(tmp_path: Path, database_url: str, smtp: SmtpServer, clock: FrozenClock) -> App:
    """The application on `database_url`, sending to the test SMTP server."""
    settings = make_settings(
        tmp_path,
        database_url,
        outgoing={
            "url": f"smtp://{smtp.user}@{smtp.host}:{smtp.port}?tls=none",
            "password": smtp.password,
            "allow_plain_auth": "true",
            "from_address": "dsfc.enquiries@example.nhs.uk",
        },
    )
    return build(settings, clock=clock, store=Store.from_url(database_url))


@dataclass
class Days:
    """Runs the reminder job on a day, sends the outbox, and returns what reached the server."""

    app: App
    smtp: SmtpServer
    clock: FrozenClock
    traveller: Any
    transports: list[MailTransport] = field(default_factory=list)

    def move(self, when: datetime) -> None:
        self.traveller.move_to(when)
        self.clock.now = when

    def run(self, day: date, app: App | None = None) -> list[ReceivedMessage]:
        app = app or self.app
        self.move(at_seven(day))
        report = Worker(app).reminders()
        assert report is not None
        return self.send(app)

    def send(self, app: App | None = None) -> list[ReceivedMessage]:
        app = app or self.app
        before = len(self.smtp.messages())
        transport = app.open_transport()
        self.transports.append(transport)
        sent = app.sender(transport).send_due()
        assert sent.deferred == sent.failed == 0, sent.errors
        return self.smtp.messages()[before:]

    def close(self) -> None:
        for transport in self.transports:
            transport.close()


@contextmanager
def moving_days(app: App, smtp: SmtpServer, clock: FrozenClock) -> Iterator[Days]:
    """Days from 1 April 2016, both clocks moved together."""
    with time_machine.travel(at_seven(date(2016, 4, 1)), tick=False) as traveller:
        days = Days(app, smtp, clock, traveller)
        days.move(at_seven(date(2016, 4, 1)))
        try:
            yield days
        finally:
            days.close()


def _migrated(app: App) -> App:
    migrate.upgrade(sql_store(app))
    load_reference_data(app)
    return app


@pytest.fixture
def reminder_app(
    tmp_path: Path, database_url: str, smtp: SmtpServer, clock: FrozenClock
) -> Iterator[App]:
    """SQLite and PostgreSQL, the seeded approvals, sending to the test SMTP server."""
    app = _migrated(smtp_app(tmp_path, database_url, smtp, clock))
    yield app
    sql_store(app).dispose()


@pytest.fixture
def days(reminder_app: App, smtp: SmtpServer, clock: FrozenClock) -> Iterator[Days]:
    with moving_days(reminder_app, smtp, clock) as moving:
        yield moving


def all_rows(unit: Unit, model: type[T]) -> list[T]:
    return list(unit.session.exec(select(model)))


def expired_references(unit: PortUnit, day: date) -> set[str]:
    """The approvals whose expiry day has come by `day`."""
    return {a.reference for a in unit.reference.approvals() if has_expired(day, a.expires)}


def flagged(unit: PortUnit, rel: Relationship, day: date) -> list[str]:
    """What `rel` shows as "legal basis expired" on `day`: the one rule, as every view asks it."""
    values = unit.register.current_version(rel).values
    return legal_basis_expired(approvals_relied_on(values), unit.reference.approvals(), day)


def staff_of(app: App) -> dict[str, list[str]]:
    return {office.name: list(office.staff) for office in app.settings.dscro}


# --- (a) a whole year, day by day -----------------------------------------------------------------


class Killed(BaseException):
    """The worker process dies: nothing below gets to handle it."""


@dataclass
class DyingNotifier(Notifier):
    """A notifier whose process is killed while it queues the email after `lives` of them."""

    lives: int = 0

    def queue(self, unit: Any, **options: Any) -> Any:
        if self.lives == 0:
            raise Killed
        self.lives -= 1
        return super().queue(unit, **options)


def test_a_year_day_by_day_brings_exactly_the_expected_reminders_none_twice_even_after_restarts(
    tmp_path: Path, smtp: SmtpServer, clock: FrozenClock
) -> None:
    url = f"sqlite:///{tmp_path / 'year.db'}"
    app = _migrated(smtp_app(tmp_path, url, smtp, clock))
    rels = register_of_50()
    staff = staff_of(app)
    add_relationships(app, rels, at_seven(date(2016, 4, 1)))
    restarted: list[App] = []
    try:
        with moving_days(app, smtp, clock) as days:
            arrived_on = _run_the_year(days, rels, staff, tmp_path, url, restarted)
        assert sorted(arrived_on) == sorted(reminder_day(o) for o in (*OFFSETS, EXPIRY_NOTICE))
        all_ids = [m.message_id for m in smtp.messages()]
        assert len(all_ids) == len(set(all_ids))  # none twice
        _check_the_year_in_numbers(app, smtp, rels)
    finally:
        for other in restarted:
            sql_store(other).dispose()
        sql_store(app).dispose()


def _run_the_year(
    days: Days,
    rels: list[Rel],
    staff: dict[str, list[str]],
    tmp_path: Path,
    url: str,
    restarted: list[App],
) -> dict[date, Counter[Key]]:
    """Every day from 1 April 2016 to 30 April 2017: what arrived is what was due, each day."""
    arrived_on: dict[date, Counter[Key]] = {}
    day = date(2016, 4, 1)
    while day <= date(2017, 4, 30):
        if day == reminder_day(14):
            received = _killed_half_way_then_restarted(days, tmp_path, url, restarted)
        else:
            received = days.run(day)
        if day == reminder_day(30):
            # A new worker on the same database runs the job again the same day.
            again = smtp_app(tmp_path, url, days.smtp, days.clock)
            restarted.append(again)
            days.move(at_seven(day) + timedelta(hours=3))
            assert Worker(again).reminders() is not None
            assert days.send(again) == []
        got = Counter(key_of(m, day) for m in received)
        assert got == expected_on(day, rels, staff), day
        if got:
            arrived_on[day] = got
        day += timedelta(days=1)
    return arrived_on


def _killed_half_way_then_restarted(
    days: Days, tmp_path: Path, url: str, restarted: list[App]
) -> list[ReceivedMessage]:
    """The worker dies after queueing 7 reminders; a new one starts an hour later and finishes."""
    day = reminder_day(14)
    days.move(at_seven(day))
    notifier = days.app.s251.notifier
    dying = DyingNotifier(
        renderer=notifier.renderer,
        letterhead=notifier.letterhead,
        composer=notifier.composer,
        lives=7,
    )
    settings = days.app.settings
    with pytest.raises(Killed):
        send_reminders(
            store=days.app.store,
            notifier=dying,
            offices=settings.dscro,
            offsets=settings.reminders.offsets_days,
            now=days.clock(),
            tz=settings.timezone,
        )
    with sql_store(days.app).unit() as unit:
        assert any(row.offset_days == 14 for row in all_rows(unit, ReminderSent))
    first = days.send()
    assert len(first) == 7  # what the dead worker had committed went out
    new_worker = smtp_app(tmp_path, url, days.smtp, days.clock)
    restarted.append(new_worker)
    days.move(at_seven(day) + timedelta(hours=1))
    report = Worker(new_worker).reminders()
    assert report is not None and report.already_sent == 0
    return first + days.send(new_worker)


def _check_the_year_in_numbers(app: App, smtp: SmtpServer, rels: list[Rel]) -> None:
    reminders_due = sum(
        1
        for rel in rels
        for _approval in rel.approvals
        for offset in (*OFFSETS, EXPIRY_NOTICE)
        if rel.active_on(reminder_day(offset))
    )
    with sql_store(app).unit() as unit:
        recorded = len(all_rows(unit, ReminderSent))
        alerts = {row.key for row in all_rows(unit, StaffAlert)}
    assert recorded == reminders_due
    expired_alerts = {k for k in alerts if k.startswith("expired:")}
    assert len(expired_alerts) == len(
        {(a, r.office) for r in rels if r.office and r.active_on(EXPIRY) for a in r.approvals}
    )
    assert "expired:CAG 7-07(c)/2013:2017-03-31:North" in alerts
    # The CSU's five requests got one email per reminder day, not five.
    csu = [m for m in smtp.messages() if "csu.requests@nhs.net" in m.rcpt_tos]
    assert len(csu) == len(OFFSETS) + 1
    # Nobody without an address was emailed, and the ended relationship had two reminders.
    assert all(m.rcpt_tos for m in smtp.messages())
    ended = [m for m in smtp.messages() if "requester.49@nhs.net" in m.rcpt_tos]
    assert len(ended) == 2 * len(register_of_50()[48].approvals)


# --- (b) downtime ---------------------------------------------------------------------------------


def test_ten_days_down_over_two_offsets_give_one_catch_up_reminder_per_relationship(
    reminder_app: App, days: Days
) -> None:
    rels = [r for r in register_of_50() if r.number <= 12]
    add_relationships(reminder_app, rels, at_seven(date(2016, 4, 1)))
    assert days.run(reminder_day(30))
    down = [reminder_day(15) + timedelta(days=n) for n in range(10)]  # over the 14 and 7 days
    assert reminder_day(14) in down and reminder_day(7) in down
    back = down[-1] + timedelta(days=1)

    received = days.run(back)

    staff = staff_of(reminder_app)
    keys = [key_of(m, back) for m in received]
    reminders = Counter(k for k in keys if k[0] == "reminder")
    # One per approval and set of addresses, saying how long is really left (5 days).
    assert reminders == Counter(
        {
            ("reminder", a, EXPIRY, 5, r.recipients())
            for r in rels
            if r.recipients()
            for a in r.approvals
        }
    )
    with sql_store(reminder_app).unit() as unit:
        offsets = Counter(row.offset_days for row in all_rows(unit, ReminderSent))
    assert offsets[14] == 0  # the older missed reminder never goes
    assert offsets[7] == sum(len(r.approvals) for r in rels)
    # The next reminder comes on its own day as usual; nothing in between.
    for day in (back + timedelta(days=n) for n in range(1, 4)):
        assert days.run(day) == []
    got = Counter(key_of(m, reminder_day(1)) for m in days.run(reminder_day(1)))
    assert got == expected_on(reminder_day(1), rels, staff)


# --- (c) an extension -----------------------------------------------------------------------------


def test_an_extension_before_expiry_means_no_expiry_alert_and_reminders_follow_the_new_date(
    reminder_app: App, days: Days
) -> None:
    rels = register_of_50()[:20]
    add_relationships(reminder_app, rels, at_seven(date(2016, 4, 1)))
    staff = staff_of(reminder_app)
    for offset in (30, 14):
        days.run(reminder_day(offset))
    days.move(at_seven(date(2017, 3, 20)))
    extension = extend_approval(
        reminder_app.store,
        "CAG 7-04 (a) / 2013",
        until=date(2018, 3, 31),
        note="CAG letter of 17/03/2017",
        by="Jo Smith",
        now=days.clock(),
    )
    assert (extension.previous_expiry, extension.new_expiry) == (EXPIRY, date(2018, 3, 31))
    expiry = {**dict.fromkeys(SEEDED, EXPIRY), "CAG 7-04(a)/2013": date(2018, 3, 31)}

    for day in (reminder_day(7), reminder_day(1), EXPIRY, EXPIRY + timedelta(days=1)):
        got = Counter(key_of(m, day) for m in days.run(day))
        assert got == expected_on(day, rels, staff, expiry), day
        assert not any(k[1] == "CAG 7-04(a)/2013" for k in got if k[0] != "summary")

    with sql_store(reminder_app).unit() as unit:
        alerts = [row.key for row in all_rows(unit, StaffAlert)]
        assert not any("CAG 7-04(a)/2013" in key for key in alerts)
        assert "CAG 7-04(a)/2013" not in expired_references(unit, EXPIRY)
        relying = relationships_relying_on(unit, "CAG 7-04(a)/2013", today=EXPIRY)
        assert relying
        assert all("CAG 7-04(a)/2013" not in flagged(unit, r, EXPIRY) for r, _ in relying)

    # The new date's schedule: 90 days before 31/03/2018, and so on.
    new_90 = date(2018, 3, 31) - timedelta(days=90)
    assert days.run(new_90 - timedelta(days=1)) == []
    got = Counter(key_of(m, new_90) for m in days.run(new_90))
    assert got == expected_on(new_90, rels, staff, expiry)
    assert {k[2] for k in got if k[0] == "reminder"} == {date(2018, 3, 31)}
    listing = {a.reference: a for a in list_approvals(reminder_app.store, today=new_90)}
    assert listing["CAG 7-04(a)/2013"].days_left == 90
    assert listing["CAG 7-04(a)/2013"].extensions[0].note == "CAG letter of 17/03/2017"
    assert listing["CAG 7-07(a)/2013"].expired


def test_an_extension_must_end_later_and_name_an_approval_on_the_register(
    reminder_app: App, clock: FrozenClock
) -> None:
    with pytest.raises(ApprovalError, match="already runs to 31/03/2017"):
        extend_approval(reminder_app.store, "CAG 7-04(a)/2013", until=EXPIRY, by="x", now=clock())
    with pytest.raises(ApprovalError, match="not on the register"):
        extend_approval(
            reminder_app.store, "CAG 9-99(z)/2013", until=date(2019, 1, 1), by="x", now=clock()
        )
    with pytest.raises(ApprovalError, match="not one CAG reference"):
        extend_approval(reminder_app.store, "soon", until=date(2019, 1, 1), by="x", now=clock())


# --- the expiry day: staff alerts and the flag ----------------------------------------------------


def test_on_the_expiry_day_staff_are_alerted_once_and_relationships_flagged(
    reminder_app: App, days: Days
) -> None:
    rels = register_of_50()[:8]
    add_relationships(reminder_app, rels, at_seven(date(2016, 4, 1)))
    with reminder_app.store.unit() as unit:
        assert expired_references(unit, EXPIRY - timedelta(days=1)) == set()
    received = days.run(EXPIRY)
    alerts = [key_of(m, EXPIRY) for m in received if key_of(m, EXPIRY)[0] == "expired"]
    assert alerts and all(k[3] >= 1 for k in alerts)
    with reminder_app.store.unit() as unit:
        assert expired_references(unit, EXPIRY) == set(SEEDED)
        rel = unit.register.by_reference(rels[2].reference)
        assert rel is not None
        assert flagged(unit, rel, EXPIRY) == list(rels[2].approvals)
        assert flagged(unit, rel, EXPIRY - timedelta(days=1)) == []
    # The first run after the day, and a second run that day, send nothing more.
    assert days.run(EXPIRY) == []
    assert days.run(EXPIRY + timedelta(days=1)) == []


def test_after_downtime_over_the_expiry_day_the_first_run_alerts_and_notifies_once(
    reminder_app: App, days: Days
) -> None:
    rels = register_of_50()[:8]
    add_relationships(reminder_app, rels, at_seven(date(2016, 4, 1)))
    later = EXPIRY + timedelta(days=4)
    keys = [key_of(m, later) for m in days.run(later)]
    kinds = Counter(k[0] if k[0] != "reminder" else f"r{k[3]}" for k in keys)
    assert kinds["r0"] == len(
        {(a, r.recipients()) for r in rels if r.recipients() for a in r.approvals}
    )
    assert kinds["expired"] >= 1 and kinds["summary"] >= 1
    assert set(kinds) == {"r0", "expired", "summary"}
    assert days.run(later + timedelta(days=1)) == []


# --- two workers at once -----------------------------------------------------------------------


def test_two_workers_running_the_job_at_once_send_each_reminder_once(
    reminder_app: App, days: Days, tmp_path: Path, database_url: str, smtp: SmtpServer
) -> None:
    rels = register_of_50()[:30]
    add_relationships(reminder_app, rels, at_seven(date(2016, 4, 1)))
    days.move(at_seven(reminder_day(60)))
    other = smtp_app(tmp_path, database_url, smtp, days.clock)
    reports: list[ReminderReport | None] = []
    errors: list[BaseException] = []

    def run(app: App) -> None:
        try:
            reports.append(Worker(app).reminders())
        except BaseException as exc:  # reported below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=run, args=(a,)) for a in (reminder_app, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        sql_store(other).dispose()
    assert errors == []
    got = Counter(key_of(m, reminder_day(60)) for m in days.send())
    assert got == expected_on(reminder_day(60), rels, staff_of(reminder_app))
    done = [r for r in reports if r is not None]
    assert len(done) == 2
    assert sum(r.emails for r in done) == sum(n for k, n in got.items() if k[0] == "reminder")


class RacedStore(Store):
    """The store of a worker that another worker overtakes: `rival` runs between this worker's
    look at what is due and its first write."""

    def __init__(self, store: Store, rival: Callable[[], object]) -> None:
        super().__init__(store.engine)
        self.rival = rival
        self.units = 0

    @contextmanager
    def unit(self) -> Iterator[Unit]:
        self.units += 1
        if self.units == 2:
            self.rival()
        with super().unit() as unit:
            yield unit


def test_a_worker_overtaken_between_looking_and_writing_sends_nothing_twice(
    reminder_app: App, days: Days, tmp_path: Path, database_url: str, smtp: SmtpServer
) -> None:
    rels = register_of_50()[36:46]  # the CSU's five requests share one email
    add_relationships(reminder_app, rels, at_seven(date(2016, 4, 1)))
    days.move(at_seven(reminder_day(60)))
    rival = smtp_app(tmp_path, database_url, smtp, days.clock)
    settings = reminder_app.settings
    try:
        report = send_reminders(
            store=RacedStore(sql_store(reminder_app), Worker(rival).reminders),
            notifier=reminder_app.s251.notifier,
            offices=settings.dscro,
            offsets=settings.reminders.offsets_days,
            now=days.clock(),
            tz=settings.timezone,
        )
    finally:
        sql_store(rival).dispose()
    assert report.sent == ()
    assert report.already_sent == sum(len(r.approvals) for r in rels)
    assert report.summaries == {}  # the rival wrote them too
    got = Counter(key_of(m, reminder_day(60)) for m in days.send())
    assert got == expected_on(reminder_day(60), rels, staff_of(reminder_app))


# --- defects a new user hit ----------------------------------------------------------------------


def _text_of(message: ReceivedMessage) -> str:
    body = message_from_bytes(message.raw, policy=default).get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def test_the_staff_summary_says_a_reminder_that_was_sent_was_sent(
    reminder_app: App, days: Days
) -> None:
    rels = [r for r in register_of_50() if r.number in (4, 8, 47)]  # 47 has no address at all
    add_relationships(reminder_app, rels, at_seven(date(2016, 4, 1)))
    received = days.run(reminder_day(30))
    with sql_store(reminder_app).unit() as unit:
        recorded = all_rows(unit, ReminderSent)
        alerts = all_rows(unit, StaffAlert)
    by_rel = {row.relationship_id: row.outbox_id for row in recorded}
    assert by_rel[3] is None and None not in (by_rel[1], by_rel[2])  # added in this order
    assert alerts and all(alert.outbox_id is not None for alert in alerts)
    summaries = [m for m in received if key_of(m, reminder_day(30))[0] == "summary"]
    text = "".join(_text_of(summary) for summary in summaries)  # North's, and South's for 47
    assert "sent to requester.04@nhs.net; siro.04@nhs.net" in text
    assert text.count("NOT SENT") == 1  # LCR-000047 only


def _approved(app: App, i: int, **values: str) -> Relationship:
    """A relationship made the way staff make one: a form filed from an email, then approved."""
    raw = email(attachments=[("form.docx", DOCX, docx_form(new_request(i, **values)))])
    filed = app.intake.ingest(raw, MessageRef("INBOX", f"approved-{i}"), now=app.clock())
    request_id = parse_request_reference(filed.references[0])
    with app.store.unit() as unit:
        request = unit.requests.get(request_id or 0)
        assert request is not None and not request.problems, request and request.problems
        request.status = "approved"
        return apply_approved_request(unit, request, now=app.clock(), actor="jo")


def test_requesters_and_authorisers_of_approved_requests_are_reminded(
    reminder_app: App, days: Days
) -> None:
    values = {"purposes": "Risk stratification", "s251_references": "CAG 7-04(a)/2013"}
    made = _approved(reminder_app, 0, **values)
    older = _approved(reminder_app, 1, **values)
    # A version from before versions kept the requester: the request that made it says who.
    with reminder_app.store.unit() as unit:
        rel = unit.register.get(older.id or 0)
        assert rel is not None
        version = unit.register.current_version(rel)
        version.values = {k: v for k, v in version.values.items() if not k.startswith("requester")}
    days.send()  # the acknowledgements of the two forms
    received = days.run(reminder_day(90))
    to = sorted(
        tuple(sorted(m.rcpt_tos)) for m in received if key_of(m, reminder_day(90))[0] == "reminder"
    )
    first, second = (new_request(i) for i in (0, 1))
    assert to == sorted(
        tuple(sorted([r["requester_email"], r["authoriser_email"]])) for r in (first, second)
    )
    assert made.reference == "LCR-000001"


# --- the approvals register -----------------------------------------------------------------------


def test_approvals_are_listed_added_once_and_their_references_normalised(
    reminder_app: App, clock: FrozenClock
) -> None:
    add_relationships(reminder_app, register_of_50()[:10], clock())
    ref = add_approval(
        reminder_app.store,
        reference="cag 8-02 (b) / 2014",
        title="Example approval",
        purposes=["invoice validation", "Risk stratification"],
        expires=date(2018, 6, 30),
        by="Jo Smith",
        now=clock(),
    )
    assert ref == "CAG 8-02(b)/2014"
    with pytest.raises(ApprovalError, match="already on the register"):
        add_approval(
            reminder_app.store,
            reference="CAG 8-02(b)/2014",
            title="Again",
            purposes=["Commissioning"],
            expires=date(2018, 6, 30),
            by="x",
            now=clock(),
        )
    with pytest.raises(ApprovalError, match="purposes must be"):
        add_approval(
            reminder_app.store,
            reference="CAG 8-03/2014",
            title="T",
            purposes=["Research"],
            expires=date(2018, 6, 30),
            by="x",
            now=clock(),
        )
    listing = {a.reference: a for a in list_approvals(reminder_app.store, today=date(2017, 1, 1))}
    assert len(listing) == 6
    assert listing[ref].purposes == ("Invoice validation", "Risk stratification")
    assert listing["CAG 7-04(a)/2013"].days_left == 89
    assert listing["CAG 7-04(a)/2013"].relationships == ("LCR-000001", "LCR-000006")
    assert listing["CAG 7-04(a)/2013"].as_dict()["expires"] == "2017-03-31"


# --- (d) the templates, against snapshots -------------------------------------------------------

UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"  # regenerate deliberately, then review the diff


def _notifier() -> Notifier:
    return Notifier(
        renderer=Renderer(REPO / "templates"),
        composer=MimeComposer(),
        letterhead=Letterhead(
            from_address="dsfc.enquiries@example.nhs.uk",
            from_name="Data Services for Commissioners",
            watched_subject="Data Services for Commissioners - Legitimate Relationships",
        ),
    )


def _snapshot_rows() -> tuple[Approval, list[Relied]]:
    now = datetime(2016, 12, 31, 7, tzinfo=UTC)
    approval = Approval(
        reference="CAG 7-07(c)/2013",
        title="Invoice validation within NHS England, in a CSU's controlled environment, for CCGs",
        purposes=["Invoice validation"],
        expires=EXPIRY,
    )
    relying: list[tuple[Relationship, Mapping[str, object]]] = []
    for n, (ccg, ods) in enumerate(
        [("NHS Leeds North CCG", "02V"), ("NHS Harrogate and Rural District CCG", "03E")], start=41
    ):
        rel = Relationship(id=n, reference=f"LCR-{n:06d}", dscro="North", created_at=now,
                           updated_at=now)  # fmt: skip
        values = {
            "commissioner_name": ccg,
            "commissioner_ods": ods,
            "processor_name": "North of England CSU",
            "processor_ods": "0AR",
            "purposes": ["Invoice validation", "Commissioning"],
            "requester_name": "Priya Shah",
            "requester_email": "priya.shah@nhs.net",
            "authoriser_name": "Dr Tom O'Neill",
            "authoriser_email": "tom.oneill@nhs.net",
        }
        relying.append((rel, values))
    return approval, relying


def _snapshot_cases() -> dict[str, tuple[str, dict[str, Any]]]:
    notifier = _notifier()
    approval, relying = _snapshot_rows()
    sent = [
        ReminderSent(reference=approval.reference, relationship_id=rel.id or 0, expiry=EXPIRY,
                     offset_days=30, sent_at=datetime(2017, 3, 1, 7, tzinfo=UTC), outbox_id=n)
        for n, (rel, _) in enumerate(relying, start=1)
    ]  # fmt: skip
    summary_rows = [
        SummaryRow(sent[0], relying[0][0], relying[0][1], ("priya.shah@nhs.net",)),
        SummaryRow(sent[1], relying[1][0], relying[1][1], ()),
    ]
    return {
        "s251_reminder_90_days": (
            "s251_reminder",
            reminder_context(notifier, approval, 90, relying[:1], reminder_day(90)),
        ),
        "s251_reminder_7_days_two_relationships": (
            "s251_reminder",
            reminder_context(notifier, approval, 7, relying, reminder_day(7)),
        ),
        "s251_reminder_expiry_notice": (
            "s251_reminder",
            reminder_context(notifier, approval, EXPIRY_NOTICE, relying[:1], EXPIRY),
        ),
        "s251_staff_summary": (
            "s251_staff_summary",
            summary_context(notifier, "North", reminder_day(30), summary_rows),
        ),
        "s251_expired": (
            "s251_expired",
            expired_context(notifier, approval, "North", relying, EXPIRY),
        ),
        "s251_expired_late": (
            "s251_expired",
            expired_context(notifier, approval, "North", relying[:1], EXPIRY + timedelta(days=3)),
        ),
    }


@pytest.mark.parametrize("case", sorted(_snapshot_cases()))
def test_each_template_renders_as_its_snapshot_in_text_and_html(case: str) -> None:
    kind, context = _snapshot_cases()[case]
    rendered = _notifier().renderer.render(kind, context)
    for suffix, text in (
        ("subject.txt", rendered.subject + "\n"),
        ("txt", rendered.text),
        ("html", rendered.html),
    ):
        path = SNAPSHOTS / f"{case}.{suffix}"
        if UPDATE:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        assert path.is_file(), f"no snapshot {path.name}: run with UPDATE_SNAPSHOTS=1 and review it"
        assert text == path.read_text(encoding="utf-8"), f"{path.name} differs from its snapshot"


# --- the commands -------------------------------------------------------------------------------


def _s251(app: App, *args: str) -> Result:
    env = {
        "INTAKE_BOT_DATABASE_URL": app.settings.database_url(),
        "INTAKE_BOT_MAILBOX_URL": app.settings.mailbox.url,
        "INTAKE_BOT_OUTGOING_URL": app.settings.outgoing.url,  # the commands only queue
        "COLUMNS": "200",
    }
    config = str(REPO / "config/intake-bot.toml")
    return CliRunner().invoke(cli_app, ["--config", config, "s251", *args], env=env)


def test_s251_commands_list_add_extend_and_remind(reminder_app: App) -> None:
    add_relationships(reminder_app, register_of_50()[:5], at_seven(date(2016, 4, 1)))
    with time_machine.travel(at_seven(reminder_day(30)), tick=False):
        listed = _s251(reminder_app, "list", "--json")
        assert listed.exit_code == 0, listed.output
        rows = {row["reference"]: row for row in json.loads(listed.stdout)}
        assert set(rows) == set(SEEDED)
        assert rows["CAG 7-04(a)/2013"]["days_left"] == 30
        assert rows["CAG 7-04(a)/2013"]["relationships"] == ["LCR-000001"]

        added = _s251(
            reminder_app, "add", "cag 9-01 (a) / 2016", "--title", "An example approval",
            "--purposes", "Invoice validation; Commissioning", "--expires", "30/06/2018",
        )  # fmt: skip
        assert added.exit_code == 0 and "CAG 9-01(a)/2016 added" in added.stdout, added.output
        extended = _s251(
            reminder_app, "extend", "7-04(a)/2013", "--until", "31/03/2018",
            "--note", "CAG letter 17/02/2017", "--by", "Jo Smith",
        )  # fmt: skip
        assert extended.exit_code == 0, extended.output
        assert "from 31/03/2017 to 31/03/2018" in extended.stdout
        refused = _s251(reminder_app, "extend", "CAG 7-07(a)/2013", "--until", "01/01/2017")
        assert refused.exit_code == 2 and "already runs to 31/03/2017" in refused.output
        bad_date = _s251(reminder_app, "extend", "CAG 7-07(a)/2013", "--until", "03/31/2018")
        assert bad_date.exit_code == 2 and "--until" in bad_date.output

        table = _s251(reminder_app, "list")
        assert table.exit_code == 0 and "31/03/2018 (extended 1x)" in table.stdout

        reminded = _s251(reminder_app, "remind", "--json")
        assert reminded.exit_code == 0, reminded.output
        report = json.loads(reminded.stdout)
        assert report["day"] == reminder_day(30).isoformat()
        assert {s["reference"] for s in report["sent"]} == set(SEEDED) - {"CAG 7-04(a)/2013"}
        again = _s251(reminder_app, "remind")
        assert again.exit_code == 0 and "0 reminder email(s) queued" in again.stdout
