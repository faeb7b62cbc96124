"""Staff digests on the fakes: one per office per day, none when empty, none twice."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from intake_bot.domain.organisations import OdsOrganisation, SuccessionReview
from intake_bot.domain.records import DigestLog, Relationship
from intake_bot.domain.workflow import UnknownOfficeError
from intake_bot.mail.render import Renderer
from tests.fakes.workflow import Staff, make_staff

MONDAY = datetime(2016, 4, 4, 7, 0, tzinfo=UTC)  # 08:00 in London
DAY = timedelta(days=1)
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
CONSOLE = "https://intake-bot.example.nhs.uk"


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


def _review(
    staff: Staff,
    reference: str,
    office: str | None,
    *,
    party: str = "commissioner",
    closed_on: date | None = date(2016, 3, 31),
    successors: tuple[str, ...] = (),
    waiting_since: datetime = MONDAY,
    status: str = "open",
) -> None:
    """An ODS review item: the `party` 03G of relationship `reference` closed."""
    with staff.rig.store.unit() as unit:
        rel = unit.add(Relationship(reference, MONDAY, MONDAY, dscro=office))
        unit.flush()
        assert rel.id is not None
        review = SuccessionReview(rel.id, reference, party, "03G", waiting_since, closed_on)
        review.successors, review.status = list(successors), status
        unit.add(review)


def _ods_list(staff: Staff) -> None:
    with staff.rig.store.unit() as unit:
        unit.add(OdsOrganisation("03G", "NHS LEEDS NORTH CCG - 03G"))
        unit.add(OdsOrganisation("15F", "NHS WEST YORKSHIRE ICB - 15F"))


def _rendering(staff: Staff, console: str = CONSOLE) -> None:
    """The real templates, and the console's address for links."""
    notifier = staff.digests.notifier
    notifier.renderer = Renderer(TEMPLATES)
    notifier.letterhead = replace(notifier.letterhead, console_url=console)


def test_open_ods_review_items_reach_their_offices_digest() -> None:
    staff = make_staff()
    staff.rig.clock.now = MONDAY
    _review(staff, "LCR-000001", "North")
    _review(staff, "LCR-000002", "London")
    _review(staff, "LCR-000003", None)
    _review(staff, "LCR-000004", "North", status="carried")  # decided: nothing to do
    report = staff.digests.send()
    assert report.sent == {"North": 2, "Midlands and East": 1, "London": 2}
    north = staff.contexts("digest")[0]
    # and the one on a relationship with no office is in every office's digest
    assert [(r["relationship"], r["no_office"], r["path"]) for r in north["reviews"]] == [  # type: ignore[attr-defined]
        ("LCR-000001", False, "/register#review-1"),
        ("LCR-000003", True, "/register#review-3"),
    ]


def test_review_items_are_apart_from_the_open_requests_in_counts_subject_and_rows() -> None:
    staff = make_staff()
    staff.rig.clock.now = MONDAY
    _ods_list(staff)
    reference = staff.file(0)  # North
    _review(staff, "LCR-000001", "North", successors=("15F",), waiting_since=MONDAY - DAY * 3)
    _review(staff, "LCR-000003", None, party="processor", closed_on=None)
    _rendering(staff)
    rendered = staff.digests.preview("North")
    assert rendered is not None
    assert rendered.subject == (
        "DSfC North: 1 open request, 0 overdue, 1 new; 2 ODS review items - 04/04/2016"
    )
    text = rendered.text
    assert "The North queue on 04/04/2016: 1 open request, 0 overdue, 1 new." in text
    assert "ODS review items awaiting a decision: 2 (listed below)." in text
    new, reviews = text.split("\nNEW (1)\n")[1].split(
        "\nODS REVIEW ITEMS AWAITING A DECISION (2)\n"
    )
    assert reference in new and "ODS-" not in new and "LCR-" not in new
    assert "due " not in reviews and "unassigned" not in reviews  # no request's fields
    assert (
        "  ODS-1  LCR-000001: the commissioner NHS LEEDS NORTH CCG (03G) closed on 31/03/2016;"
        " successor: NHS WEST YORKSHIRE ICB (15F)\n"
        "      waiting since 01/04/2016 08:00 (3 days)\n"
        f"      {CONSOLE}/register#review-1\n"
    ) in reviews
    assert (
        "  ODS-2  LCR-000003: the data processor NHS LEEDS NORTH CCG (03G) closed;"
        " successor: none named by ODS\n"
        "      waiting since 04/04/2016 08:00 (0 days)\n"
        "      the register names no regional office for LCR-000003: this item is in every"
        " office's digest, and only an admin sees it on the register page\n"
    ) in reviews

    html = rendered.html
    assert "<strong>1 open request</strong>" in html
    assert html.count("<table") == 2
    requests_table, reviews_table = html.split("<table")[1:]
    assert reference in requests_table and "ODS-" not in requests_table
    assert "ODS review items awaiting a decision (2)</h2>" in requests_table  # the heading
    assert f'<a href="{CONSOLE}/register#review-1">ODS-1</a>' in reviews_table
    assert "NHS WEST YORKSHIRE ICB (15F)" in reviews_table
    assert "no regional office for it: this item is in every office's digest" in reviews_table
    assert "unassigned" not in reviews_table


def test_a_digest_with_review_items_only_says_no_requests_are_open() -> None:
    staff = make_staff()
    staff.rig.clock.now = MONDAY
    _review(staff, "LCR-000001", "London")
    _rendering(staff, console="")
    assert staff.digests.send().sent == {"London": 1}
    (row,) = staff.outbox("digest")
    assert (
        row.subject
        == "DSfC London: 0 open requests, 0 overdue, 0 new; 1 ODS review item - 04/04/2016"
    )
    assert staff.digests.preview("North") is None


def test_the_review_items_listed_are_the_oldest_fifty_and_the_rest_are_counted() -> None:
    staff = make_staff()
    staff.rig.clock.now = MONDAY
    for n in range(1, 54):  # ODS-1 is the newest, ODS-53 the oldest
        _review(staff, f"LCR-{n:06d}", "North", waiting_since=MONDAY - timedelta(hours=n))
    _rendering(staff)
    rendered = staff.digests.preview("North")
    assert rendered is not None
    assert rendered.subject.endswith("; 53 ODS review items - 04/04/2016")
    text, html = rendered.text, rendered.html
    assert "ODS REVIEW ITEMS AWAITING A DECISION (53)" in text
    listed = [line.split()[0] for line in text.splitlines() if line.startswith("  ODS-")]
    assert listed == [f"ODS-{n}" for n in range(53, 3, -1)]  # the oldest first
    assert (
        "  ... and 3 more, the newest (waiting since 04/04/2016 05:00 or later), not listed here:"
        f" the register page lists every one, {CONSOLE}/register\n"
    ) in text
    assert [f'#review-{n}"' in html for n in (53, 4, 3, 1)] == [True, True, False, False]
    assert (
        "and <strong>3 more</strong>, the newest (waiting since 04/04/2016 05:00 or later)" in html
    )
    assert f'the <a href="{CONSOLE}/register">register page</a> lists every one.' in html

    _rendering(staff, console="")
    rendered = staff.digests.preview("North")
    assert rendered is not None
    assert "not listed here: `intake-bot ods reviews` lists every one" in rendered.text


def test_a_closure_to_come_and_several_successors_are_said_as_they_are() -> None:
    staff = make_staff()
    staff.rig.clock.now = MONDAY
    _ods_list(staff)
    _review(
        staff, "LCR-000001", "North", closed_on=date(2016, 9, 30), successors=("15F", "02V", "16C")
    )
    _rendering(staff)
    rendered = staff.digests.preview("North")
    assert rendered is not None
    text = rendered.text
    assert "closes on 30/09/2016; successors: NHS WEST YORKSHIRE ICB (15F), 02V and 16C" in text
    assert "has closed, or will close on the day shown" in text
    assert "<title>North: open requests and ODS review items on 04/04/2016</title>" in (
        rendered.html
    )
