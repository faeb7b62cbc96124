"""Staff digests on the fakes: one per office per day, none when empty, none twice."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from intake_bot.domain.records import DigestLog
from intake_bot.domain.workflow import UnknownOfficeError
from tests.fakes.workflow import make_staff

MONDAY = datetime(2016, 4, 4, 7, 0, tzinfo=UTC)  # 08:00 in London


def test_one_digest_per_office_with_staff_and_open_items_and_none_twice_a_day() -> None:
    staff = make_staff()
    staff.rig.clock.now = MONDAY
    staff.file(0)  # North
    staff.file(1)  # North
    staff.file(2)  # Midlands and East
    staff.file(4)  # South: no staff addresses
    report = staff.digests.send()
    assert report.sent == {"North": 2, "Midlands and East": 1}
    assert report.skipped_empty == ("London",)
    assert report.skipped_no_staff == ("South",)
    emails = staff.outbox("digest")
    assert [e.recipients for e in emails] == [["north@example.nhs.uk"], ["me@example.nhs.uk"]]
    logs = staff.rig.store.memory.all(DigestLog)
    assert [(log.office, log.day, log.items) for log in logs] == [
        ("North", date(2016, 4, 4), 2),
        ("Midlands and East", date(2016, 4, 4), 1),
    ]
    assert logs[0].outbox_id == emails[0].id

    staff.rig.clock.now = MONDAY + timedelta(hours=14)  # 22:00 in London: the same day
    again = staff.digests.send()
    assert again.sent == {} and again.skipped_already_sent == ("North", "Midlands and East")
    assert len(staff.outbox("digest")) == 2

    staff.rig.clock.now = MONDAY + timedelta(days=1)
    assert staff.digests.send().sent == {"North": 2, "Midlands and East": 1}


def test_the_digest_sorts_new_items_since_the_last_one() -> None:
    staff = make_staff()
    staff.rig.clock.now = MONDAY
    first = staff.file(0)
    staff.digests.send()
    staff.rig.clock.now = MONDAY + timedelta(days=1)
    second = staff.file(1)
    staff.digests.send()
    context = staff.contexts("digest")[-1]
    sections = {s["key"]: [r["reference"] for r in s["rows"]] for s in context["sections"]}  # type: ignore[attr-defined]
    assert sections == {"new": [second], "waiting": [first]}


def test_preview_renders_without_queueing_and_finds_an_office_by_alias() -> None:
    staff = make_staff()
    staff.rig.clock.now = MONDAY
    staff.file(2)  # Midlands and East
    rendered = staff.digests.preview("m&e")
    assert rendered is not None and rendered.subject == "digest"
    assert staff.outbox("digest") == []
    assert staff.digests.preview("london") is None
    with pytest.raises(UnknownOfficeError, match="North, Midlands and East, London, South"):
        staff.digests.preview("Wales")


def test_open_ods_review_items_reach_their_offices_digest() -> None:
    from intake_bot.domain.organisations import SuccessionReview
    from intake_bot.domain.records import Relationship

    staff = make_staff()
    staff.rig.clock.now = MONDAY
    with staff.rig.store.unit() as unit:
        rels = [
            unit.add(Relationship(f"LCR-00000{n}", MONDAY, MONDAY, dscro=office))
            for n, office in ((1, "North"), (2, "London"), (3, None))
        ]
        unit.flush()
        for rel in rels:
            assert rel.id is not None
            unit.add(
                SuccessionReview(
                    rel.id, rel.reference, "commissioner", "03G", MONDAY, date(2022, 6, 30)
                )
            )
        decided = SuccessionReview(rels[0].id, "LCR-000001", "processor", "0DE", MONDAY)  # type: ignore[arg-type]
        decided.status = "carried"
        unit.add(decided)
    report = staff.digests.send()
    assert report.sent == {"North": 2, "Midlands and East": 1, "London": 2}
    north = staff.contexts("digest")[0]
    rows = [r for s in north["sections"] for r in s["rows"]]  # type: ignore[attr-defined]
    # and the one on a relationship with no office is in every office's digest
    no_office = "LCR-000003: commissioner 03G closed on 30/06/2022 (the register names no"
    assert [(r["kind"], r["organisation"][:72], r["path"]) for r in rows] == [
        ("ODS review", "LCR-000001: commissioner 03G closed on 30/06/2022", "/register"),
        ("ODS review", no_office, "/register"),
    ]
