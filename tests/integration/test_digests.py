"""Staff digests with the clock moved day by day (SQLite and PostgreSQL).

Both clocks move together: the app's FrozenClock, and the process clock through time-machine, so
that nothing on the way can read the real time unnoticed.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
import time_machine

from intake_bot.bootstrap import App, build
from intake_bot.domain.organisations import OdsOrganisation, SuccessionReview
from intake_bot.domain.records import DigestLog, InboundMessage, Outbox, Relationship
from intake_bot.domain.triage import parse_request_reference
from intake_bot.domain.workflow_views import DigestReport
from intake_bot.ports import MessageRef, Unit
from intake_bot.samples import DOCX, docx_form, email, new_request
from intake_bot.services.digests import Digests
from intake_bot.services.notify import Notifier
from intake_bot.store.store import Store
from intake_bot.worker import Worker
from tests.conftest import REPO, FrozenClock, make_settings, sql_store

pytestmark = pytest.mark.integration

MONDAY = datetime(2016, 4, 4, 7, 0, tzinfo=UTC)  # 08:00 in London (BST)
NORTH_STAFF = ["dscro.north@intake-bot.invalid"]
MOVE = Callable[[datetime], None]


@pytest.fixture
def move_to(clock: FrozenClock) -> Iterator[MOVE]:
    """Move the app's clock and the process clock together; starts on MONDAY."""
    with time_machine.travel(MONDAY, tick=False) as traveller:

        def move(when: datetime) -> None:
            traveller.move_to(when)
            clock.now = when

        move(MONDAY)
        yield move


def _file(app: App, i: int = 0, **values: str) -> str:
    """File one emailed form (sample commissioner `i`, see samples._CCGS); its reference."""
    form = docx_form(new_request(i, **values))
    raw = email(attachments=[("request.docx", DOCX, form)], when=app.clock())
    result = app.intake.ingest(raw, MessageRef("INBOX", uuid.uuid4().hex))
    (reference,) = result.references
    return reference


def _with_target(app: App, tmp_path: Path, clock: FrozenClock, days: int) -> App:
    """The same application and database after the target for new requests became `days`."""
    settings = make_settings(tmp_path, app.settings.database.url, targets={"new": days})
    return build(settings, clock=clock, store=sql_store(app))


def _set_status(app: App, reference: str, status: str) -> None:
    request_id = parse_request_reference(reference)
    assert request_id is not None
    with app.store.unit() as unit:
        request = unit.requests.get(request_id)
        assert request is not None
        request.status = status


def _digests(app: App, notifier: Notifier | None = None) -> DigestReport:
    if notifier is None:
        return app.digests.send()
    digests = Digests(
        store=app.store,
        notifier=notifier,
        clock=app.clock,
        offices=app.settings.dscro,
        timezone=app.settings.timezone,
    )
    return digests.send()


def _digest_log(store: Store, office: str, day: date) -> DigestLog | None:
    with store.unit() as unit:
        log = unit.notices.last_digest(office, day)
    return log if log is not None and log.day == day else None


@dataclass(frozen=True)
class Sent:
    row: Outbox
    message: EmailMessage

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return str(part.get_content())

    @property
    def html(self) -> str:
        part = self.message.get_body(("html",))
        assert part is not None
        return str(part.get_content())


def _digest_emails(store: Store) -> list[Sent]:
    with store.unit() as unit:
        return [_sent(unit, row) for row in unit.outbox.for_() if row.kind == "digest"]


def _sent(unit: Unit, row: Outbox) -> Sent:
    assert row.id is not None
    message = message_from_bytes(unit.outbox.raw(row.id), policy=default)
    assert isinstance(message, EmailMessage)
    return Sent(row, message)


def _order(body: str, references: list[str]) -> list[str]:
    """`references` in the order they first appear in `body` (each must appear)."""
    assert all(r in body for r in references), [r for r in references if r not in body]
    return sorted(references, key=body.index)


def test_one_digest_per_office_per_day_none_when_empty_none_twice_after_a_restart(
    app: App, clock: FrozenClock, move_to: MOVE, database_url: str
) -> None:
    _file(app, 0)  # North
    _file(app, 1)  # North
    _file(app, 2)  # Midlands and East; nothing for London or South

    first = _digests(app)
    assert first.sent == {"North": 2, "Midlands and East": 1}
    assert first.skipped_empty == ("London", "South")
    emails = _digest_emails(sql_store(app))
    assert len(emails) == 2
    north = next(e for e in emails if e.row.recipients == NORTH_STAFF)
    assert north.row.subject == "DSfC North: 2 open requests, 0 overdue, 2 new - 04/04/2016"
    assert north.message["Auto-Submitted"] == "auto-generated"
    assert {tuple(e.row.recipients) for e in emails} == {
        ("dscro.north@intake-bot.invalid",),
        ("dscro.midlands-east@intake-bot.invalid",),
    }

    move_to(MONDAY + timedelta(hours=14))  # 22:00 in London, the same day
    again = Worker(app).digests()  # the scheduled job, a second time today
    assert again is not None and again.sent == {}
    assert again.skipped_already_sent == ("North", "Midlands and East")

    restarted = build(app.settings, clock=clock, store=Store.from_url(database_url))
    try:
        after_restart = _digests(restarted)
    finally:
        sql_store(restarted).dispose()
    assert after_restart.sent == {}
    assert len(_digest_emails(sql_store(app))) == 2

    move_to(MONDAY + timedelta(days=1))
    assert _digests(app).sent == {"North": 2, "Midlands and East": 1}
    assert len(_digest_emails(sql_store(app))) == 4
    log = _digest_log(sql_store(app), "North", date(2016, 4, 5))
    assert log is not None and log.items == 2 and log.sent_at == clock.now


def test_day_by_day_overdue_first_oldest_due_first_then_new_then_the_rest(
    app: App, clock: FrozenClock, move_to: MOVE, tmp_path: Path
) -> None:
    new_due_18th = _file(app, 0)  # Mon 4 April + 10 working days
    incomplete = _file(app, 1, contract_signed_date="31/13/2016")  # no due date
    approved = _file(app, 0)
    _set_status(app, approved, "approved")  # closed: never in a digest
    assert _digests(app).sent["North"] == 2

    shorter_target = _with_target(app, tmp_path, clock, days=3)
    due_13th, arrived_today = "", ""
    sent_days: list[date] = []
    day = MONDAY
    while day.date() < date(2016, 4, 20):
        day += timedelta(days=1)
        move_to(day - timedelta(minutes=30))
        if day.date() == date(2016, 4, 8):
            due_13th = _file(shorter_target, 1)  # Fri 8 April + 3 working days: due first
        if day.date() == date(2016, 4, 20):
            arrived_today = _file(app, 0)
        move_to(day)
        if "North" in _digests(app).sent:
            sent_days.append(day.date())
        assert "North" in _digests(app).skipped_already_sent  # and only once a day

    assert len(sent_days) == 16  # every day from Tue 5 to Wed 20 April, weekends too
    last = _digest_emails(sql_store(app))[-1]
    assert last.row.subject == "DSfC North: 4 open requests, 2 overdue, 1 new - 20/04/2016"
    order = [due_13th, new_due_18th, arrived_today, incomplete]
    for body in (last.text, last.html):
        assert _order(body, order) == order
        assert approved not in body
    overdue, new, waiting = (last.text.index(h) for h in ("OVERDUE (2)", "NEW SINCE", "AWAITING"))
    assert overdue < new < waiting


def test_a_message_awaiting_staff_in_an_office_queue_is_listed(app: App, move_to: MOVE) -> None:
    with app.store.unit() as unit:
        unit.add(
            InboundMessage(
                dedupe_key="<reply-1@nhs.net>",
                mailbox="INBOX",
                location="7",
                sha256="0" * 64,
                size=1,
                raw=b"x",
                from_addr="someone.else@nhs.net",
                filed_at=app.clock(),
                outcome="reply",
                queue="north/replies",
            )
        )
    assert _digests(app).sent == {"North": 1}
    (sent,) = _digest_emails(sql_store(app))
    assert "MSG-1  reply, awaiting staff: someone.else@nhs.net" in sent.text


def test_the_day_is_the_day_in_london_not_in_utc(app: App, move_to: MOVE) -> None:
    move_to(datetime(2016, 6, 1, 23, 30, tzinfo=UTC))  # already 2 June in London (BST)
    _file(app, 0)
    assert _digests(app).sent == {"North": 1}
    assert _digest_log(sql_store(app), "North", date(2016, 6, 2)) is not None
    move_to(datetime(2016, 6, 2, 22, 30, tzinfo=UTC))  # 23:30 on 2 June in London
    assert _digests(app).skipped_already_sent == ("North",)
    move_to(datetime(2016, 6, 2, 23, 0, tzinfo=UTC))  # midnight: 3 June
    assert _digests(app).sent == {"North": 1}


@dataclass
class RivalFirst(Notifier):
    """Another replica commits today's digest between our check and our commit."""

    rival: Store | None = None

    def queue(self, unit: Unit, **kwargs: Any) -> Outbox:
        assert self.rival is not None
        now: datetime = kwargs["now"]
        with self.rival.unit() as other:
            other.add(DigestLog(office="North", day=date(2016, 4, 4), sent_at=now))
        return super().queue(unit, **kwargs)


def test_two_replicas_racing_send_one_digest(
    app: App, move_to: MOVE, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="intake_bot.services.digests")
    _file(app, 0)
    base = app.intake.notifier
    rival = Store.from_url(database_url)
    racing = RivalFirst(
        renderer=base.renderer,
        letterhead=base.letterhead,
        composer=base.composer,
        blank_forms=base.blank_forms,
        rival=rival,
    )
    try:
        report = _digests(app, notifier=racing)
    finally:
        rival.dispose()
    assert report.sent == {} and report.skipped_already_sent == ("North",)
    assert _digest_emails(sql_store(app)) == []  # ours was rolled back with the DigestLog row
    assert "already sent today by another worker" in caplog.text  # refused at commit


def test_preview_renders_the_email_that_is_then_sent_and_queues_nothing(
    app: App, move_to: MOVE
) -> None:
    first = _file(app, 0)
    second = _file(app, 1, commissioner_name="NHS <Darlington> & Partners CCG")
    (north,) = (d for d in app.settings.dscro if d.name == "North")
    preview = app.digests.preview(north.name)
    assert preview is not None
    assert _digest_emails(sql_store(app)) == []
    assert preview.subject == "DSfC North: 2 open requests, 0 overdue, 2 new - 04/04/2016"
    assert _order(preview.text, [first, second]) == [first, second]
    assert "NHS Leeds North CCG 02V" in preview.text
    assert "due 18/04/2016, unassigned, 0 problems" in preview.text
    assert "NHS &lt;Darlington&gt; &amp; Partners CCG" in preview.html  # escaped
    assert "<th" in preview.html and preview.html.count("<table") == 1

    _digests(app)
    (sent,) = [e for e in _digest_emails(sql_store(app)) if e.row.recipients == NORTH_STAFF]
    assert sent.text.strip().splitlines() == preview.text.strip().splitlines()
    assert app.digests.preview("London") is None


def test_review_items_are_listed_apart_from_the_open_requests(app: App, move_to: MOVE) -> None:
    reference = _file(app, 0)
    with app.store.unit() as unit:
        unit.add(OdsOrganisation("03G", "NHS LEEDS NORTH CCG - 03G"))
        unit.add(OdsOrganisation("15F", "NHS WEST YORKSHIRE ICB - 15F"))
        for n, office in ((1, "North"), (2, None), (3, "London")):
            rel = unit.add(Relationship(f"LCR-00000{n}", MONDAY, MONDAY, dscro=office))
            unit.flush()
            assert rel.id is not None
            review = SuccessionReview(rel.id, rel.reference, "commissioner", "03G", MONDAY)
            review.closed_on, review.successors = date(2016, 3, 31), ["15F"]
            unit.add(review)
    preview = app.digests.preview("North")
    assert preview is not None
    subject = "DSfC North: 1 open request, 0 overdue, 1 new; 2 ODS review items - 04/04/2016"
    assert preview.subject == subject
    requests, reviews = preview.text.split("ODS REVIEW ITEMS AWAITING A DECISION (2)")
    assert reference in requests and "LCR-" not in requests
    assert "LCR-000001: the commissioner NHS LEEDS NORTH CCG (03G) closed on 31/03/2016;" in reviews
    assert "successor: NHS WEST YORKSHIRE ICB (15F)" in reviews and "LCR-000003" not in reviews
    assert "no regional office for LCR-000002: this item is in every office's digest" in reviews
    sent = app.digests.send().sent  # the item with no office goes to every office
    assert sent == {"North": 3, "Midlands and East": 1, "London": 2, "South": 1}


def _cli(*args: str, database_url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_BOT_")}
    env.update(
        {
            "COLUMNS": "200",
            "INTAKE_BOT_CONFIG": str(REPO / "config/intake-bot.toml"),
            "INTAKE_BOT_DATABASE_URL": database_url,
            "INTAKE_BOT_OUTGOING_URL": f"file:{tmp_path / 'outbox'}",
            "INTAKE_BOT_PATHS_TEMPLATES": str(REPO / "templates"),
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "intake_bot", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_previews_then_sends_once(app: App, database_url: str, tmp_path: Path) -> None:
    reference = _file(app, 0)
    preview = _cli("digest", "preview", "north", database_url=database_url, tmp_path=tmp_path)
    assert preview.returncode == 0, preview.stderr
    assert "Subject: DSfC North: 1 open request," in preview.stdout
    assert reference in preview.stdout
    assert _digest_emails(sql_store(app)) == []
    unknown = _cli("digest", "preview", "Wales", database_url=database_url, tmp_path=tmp_path)
    assert unknown.returncode == 2 and "North" in unknown.stderr

    sent = _cli("digest", "send", database_url=database_url, tmp_path=tmp_path)
    assert sent.returncode == 0, sent.stderr
    assert "North: digest queued (1 items)" in sent.stdout
    again = _cli("digest", "send", "--json", database_url=database_url, tmp_path=tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["skipped_already_sent"] == ["North"]
    assert len(_digest_emails(sql_store(app))) == 1
