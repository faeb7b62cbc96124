"""The s251 use case on the in-memory store: approvals added and extended, and reminders due on
the expected day to the expected addresses, never twice. The application is wired as in
production (templates rendered, MIME composed); only the store is a fake, so no server is needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from intake_bot.application import Application
from intake_bot.bootstrap import build
from intake_bot.domain.approvals import ApprovalError
from intake_bot.domain.records import (
    Approval,
    ApprovalExtension,
    Event,
    Outbox,
    Relationship,
    RelationshipVersion,
    ReminderSent,
    Request,
    StaffAlert,
    saved_id,
)
from tests.conftest import FrozenClock, make_settings
from tests.fakes import FakeStore

LONDON = ZoneInfo("Europe/London")
EXPIRY = date(2017, 3, 31)
RS = "CAG 7-04(a)/2013"
IV = "CAG 7-07(a)/2013"


def at_seven(day: date) -> datetime:
    return datetime.combine(day, time(7), tzinfo=LONDON).astimezone(UTC)


@pytest.fixture
def store() -> FakeStore:
    store = FakeStore()
    with store.unit() as unit:
        unit.add(Approval(RS, "Risk stratification", EXPIRY, ["Risk stratification"]))
        unit.add(Approval(IV, "Invoice validation", EXPIRY, ["Invoice validation"]))
    return store


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(at_seven(date(2016, 4, 1)))


@pytest.fixture
def app(tmp_path: Path, store: FakeStore, clock: FrozenClock) -> Iterator[Application]:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'unused.db'}")
    yield build(settings, clock=clock, store=store)  # type: ignore[arg-type]


def relationship(
    store: FakeStore,
    number: int,
    approvals: list[str],
    *,
    office: str | None = "North",
    request_id: int | None = None,
    **contacts: str,
) -> Relationship:
    """A relationship in force, as the register keeps it; `contacts` override the addresses."""
    values: dict[str, Any] = {
        "commissioner_name": f"NHS Test {number} CCG",
        "commissioner_ods": f"{number:02d}X",
        "processor_name": "North of England CSU",
        "processor_ods": "0AR",
        "dscro": office or "",
        "purposes": ["Risk stratification"],
        "s251_references": approvals,
        "requester_name": f"Requester {number}",
        "requester_email": f"requester.{number}@nhs.net",
        "authoriser_name": f"Caldicott Guardian {number}",
        "authoriser_email": f"siro.{number}@nhs.net",
        **contacts,
    }
    with store.unit() as unit:
        rel = unit.add(
            Relationship(
                reference=f"LCR-{number:06d}",
                dscro=office,
                created_at=at_seven(date(2016, 4, 1)),
                updated_at=at_seven(date(2016, 4, 1)),
            )
        )
        unit.flush()
        unit.add(
            RelationshipVersion(
                relationship_id=saved_id(rel),
                version=1,
                values={k: v for k, v in values.items() if v},
                request_id=request_id,
                created_at=at_seven(date(2016, 4, 1)),
            )
        )
    return rel


def remind_on(app: Application, clock: FrozenClock, day: date) -> list[Outbox]:
    """Run the job on `day` at 07:00 in London; the emails it queued."""
    before = len(app.store.memory.all(Outbox))  # type: ignore[attr-defined]
    clock.now = at_seven(day)
    app.s251.send_reminders()
    return app.store.memory.all(Outbox)[before:]  # type: ignore[attr-defined,no-any-return]


def reminders(emails: list[Outbox]) -> list[tuple[str, ...]]:
    return sorted(tuple(e.recipients) for e in emails if e.kind == "s251_reminder")


# --- approvals ---------------------------------------------------------------------------------


def test_an_approval_is_added_once_with_its_reference_made_canonical(
    app: Application, store: FakeStore
) -> None:
    ref = app.s251.add(
        reference="cag 8-02 (b) / 2014",
        title=" Example ",
        purposes=["invoice validation", "Risk stratification"],
        expires=date(2018, 6, 30),
        by="Jo Smith",
    )
    assert ref == "CAG 8-02(b)/2014"
    added = {a.reference: a for a in store.memory.all(Approval)}[ref]
    assert (added.title, added.purposes) == (
        "Example",
        ["Invoice validation", "Risk stratification"],
    )
    with pytest.raises(ApprovalError, match="already on the register"):
        app.s251.add(
            reference=ref, title="Again", purposes=["Commissioning"], expires=EXPIRY, by="x"
        )
    with pytest.raises(ApprovalError, match="purposes must be"):
        app.s251.add(
            reference="CAG 8-03/2014", title="T", purposes=["Research"], expires=EXPIRY, by="x"
        )
    with pytest.raises(ApprovalError, match="not one CAG reference"):
        app.s251.add(reference="soon", title="T", purposes=[], expires=EXPIRY, by="x")
    assert [e.note for e in store.memory.all(Event)] == [f"{ref} added, expires 30/06/2018"]


def test_an_extension_moves_the_expiry_later_and_keeps_the_history(
    app: Application, store: FakeStore
) -> None:
    relationship(store, 1, [RS])
    extension = app.s251.extend(
        "7-04 (a)/2013", until=date(2018, 3, 31), note="CAG letter", by="Jo"
    )
    assert (extension.previous_expiry, extension.new_expiry) == (EXPIRY, date(2018, 3, 31))
    (kept,) = store.memory.all(ApprovalExtension)
    assert (kept.reference, kept.note, kept.by) == (RS, "CAG letter", "Jo")
    listing = {a.reference: a for a in app.s251.list()}
    assert listing[RS].expires == date(2018, 3, 31)
    assert listing[RS].relationships == ("LCR-000001",)
    assert listing[RS].as_dict()["extensions"][0]["new_expiry"] == "2018-03-31"  # type: ignore[index]
    with pytest.raises(ApprovalError, match="already runs to 31/03/2018"):
        app.s251.extend(RS, until=date(2018, 3, 31), by="Jo")
    with pytest.raises(ApprovalError, match="not on the register"):
        app.s251.extend("CAG 9-99(z)/2013", until=date(2019, 1, 1), by="Jo")


# --- reminders ---------------------------------------------------------------------------------


def test_reminders_go_on_their_days_to_requester_and_authoriser_and_never_twice(
    app: Application, store: FakeStore, clock: FrozenClock
) -> None:
    relationship(store, 1, [RS])
    relationship(store, 2, [RS, IV], requester_email="Siro.2@NHS.net")  # one person, twice
    assert remind_on(app, clock, EXPIRY - timedelta(days=91)) == []
    due = remind_on(app, clock, EXPIRY - timedelta(days=90))
    assert reminders(due) == [
        ("Siro.2@NHS.net",),
        ("Siro.2@NHS.net",),
        ("requester.1@nhs.net", "siro.1@nhs.net"),
    ]
    assert [e.kind for e in due if e.kind != "s251_reminder"] == ["s251_staff_summary"]
    assert remind_on(app, clock, EXPIRY - timedelta(days=90)) == []  # the same day again
    assert remind_on(app, clock, EXPIRY - timedelta(days=89)) == []
    assert len(reminders(remind_on(app, clock, EXPIRY - timedelta(days=60)))) == 3
    offsets = sorted({r.offset_days for r in store.memory.all(ReminderSent)})
    assert offsets == [60, 90]


def test_each_reminder_names_the_email_that_carried_it(
    app: Application, store: FakeStore, clock: FrozenClock
) -> None:
    relationship(store, 1, [RS])
    relationship(store, 2, [RS], requester_email="", authoriser_email="")  # nobody to email
    emails = remind_on(app, clock, EXPIRY - timedelta(days=30))
    sent = {r.relationship_id: r.outbox_id for r in store.memory.all(ReminderSent)}
    (reminder,) = [e for e in emails if e.kind == "s251_reminder"]
    assert sent == {1: reminder.id, 2: None}
    (summary,) = [e for e in emails if e.kind == "s251_staff_summary"]
    text = message_from_bytes(summary.raw, policy=default).get_body(("plain",))
    assert text is not None
    body = text.get_content()
    assert "requester.1@nhs.net; siro.1@nhs.net" in body
    assert body.count("NOT SENT") == 1  # only the one without an address
    (alert,) = store.memory.all(StaffAlert)
    assert alert.outbox_id == summary.id


def test_a_relationship_without_the_requester_reminds_the_requester_of_its_request(
    app: Application, store: FakeStore, clock: FrozenClock
) -> None:
    with store.unit() as unit:
        request = unit.add(
            Request(
                inbound_id=1,
                source="form.docx",
                status="approved",
                queue="North/new",
                created_at=clock(),
                updated_at=clock(),
                request_type="new",
                values={"requester_name": "Aisha Khan", "requester_email": "aisha.khan@nhs.net"},
                requester_email="aisha.khan@nhs.net",
            )
        )
    relationship(store, 1, [RS], request_id=request.id, requester_email="", requester_name="")
    emails = remind_on(app, clock, EXPIRY - timedelta(days=14))
    assert reminders(emails) == [("aisha.khan@nhs.net", "siro.1@nhs.net")]
    (version,) = store.memory.all(RelationshipVersion)
    assert "requester_email" not in version.values  # the register is read, not rewritten


def test_on_the_expiry_day_each_office_is_alerted_once(
    app: Application, store: FakeStore, clock: FrozenClock
) -> None:
    relationship(store, 1, [RS])
    relationship(store, 2, [RS], office="London")
    relationship(store, 3, [RS], office=None)  # no office: reminded, but no staff told
    emails = remind_on(app, clock, EXPIRY)
    assert sorted(e.kind for e in emails).count("s251_expired") == 2
    assert len(reminders(emails)) == 3
    keys = {a.key for a in store.memory.all(StaffAlert)}
    assert f"expired:{RS}:2017-03-31:North" in keys and f"expired:{RS}:2017-03-31:London" in keys
    assert remind_on(app, clock, EXPIRY) == []
    assert remind_on(app, clock, EXPIRY + timedelta(days=1)) == []


def test_the_report_says_what_was_sent_and_who_no_staff_heard_of(
    app: Application, store: FakeStore, clock: FrozenClock
) -> None:
    relationship(store, 1, [RS])
    relationship(store, 3, [IV], office=None)
    clock.now = at_seven(EXPIRY - timedelta(days=7))
    report = app.s251.send_reminders()
    assert report.day == EXPIRY - timedelta(days=7)
    assert report.emails == 2
    assert {s.reference: s.relationships for s in report.sent} == {
        RS: ("LCR-000001",),
        IV: ("LCR-000003",),
    }
    assert report.unrouted == ("LCR-000003",)
    assert report.summaries == {"North": 1}
    assert report.as_dict()["day"] == "2017-03-24"


def test_the_reminders_view_lists_what_went_and_each_approvals_next_day(
    app: Application, store: FakeStore, clock: FrozenClock
) -> None:
    relationship(store, 1, [RS])
    remind_on(app, clock, EXPIRY - timedelta(days=90))
    view = app.s251.reminders()
    assert {(line.approval, line.offset_days) for line in view.sent} == {(RS, 90)}
    assert view.next_due[RS] == EXPIRY - timedelta(days=60)  # the next offset to come
    assert view.next_due[IV] is None  # nothing relies on it: nothing to remind of


def test_next_reminder_is_the_first_offset_still_to_come() -> None:
    from intake_bot.domain.approvals import next_reminder

    offsets = [90, 60, 30, 14, 7, 1]
    assert next_reminder(date(2030, 1, 31), offsets, date(2030, 1, 1)) == date(2030, 1, 1)
    assert next_reminder(date(2030, 1, 31), offsets, date(2030, 1, 2)) == date(2030, 1, 17)
    assert next_reminder(date(2030, 1, 31), offsets, date(2030, 1, 31)) is None
