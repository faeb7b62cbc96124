"""Queues on the fakes, and queue names matched as staff type them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from intake_bot.domain.queue_views import RequestQuery
from intake_bot.domain.records import InboundMessage
from intake_bot.domain.status import Status
from intake_bot.domain.triage import Office, parse_message_reference, resolve_queue
from intake_bot.domain.workflow import UnknownQueueError
from intake_bot.samples import email
from tests.fakes.workflow import make_staff

OFFICES = (Office("North"), Office("Midlands and East", ("Midlands & East", "M&E")))


@pytest.mark.parametrize(
    ("typed", "queues"),
    [
        ("north/new", ["north/new"]),
        ("North/New", ["north/new"]),
        (" m&e/change ", ["midlands-and-east/change"]),
        ("Midlands & East/end", ["midlands-and-east/end"]),
        ("midlands-and-east/incomplete", ["midlands-and-east/incomplete"]),
        ("Enquiries", ["enquiries"]),
        ("QUARANTINE", ["quarantine"]),
        ("north/replies", ["north/replies"]),  # not a kind, but it holds something now
    ],
)
def test_a_queue_is_matched_in_any_case_by_name_alias_or_slug(
    typed: str, queues: list[str]
) -> None:
    assert resolve_queue(typed, OFFICES, in_use=["north/replies"]) == queues


def test_an_office_alone_is_every_one_of_its_queues_and_a_kind_alone_every_office() -> None:
    assert resolve_queue("north", OFFICES) == [
        "north/new",
        "north/change",
        "north/end",
        "north/incomplete",
        "north/verification",
    ]
    assert resolve_queue("M&E", OFFICES)[0] == "midlands-and-east/new"
    assert resolve_queue("new", OFFICES) == [
        "north/new",
        "midlands-and-east/new",
        "unassigned/new",
    ]


@pytest.mark.parametrize("typed", ["nowhere", "north/bogus", "wales/new", "", "/"])
def test_a_name_that_is_no_queue_matches_nothing(typed: str) -> None:
    assert resolve_queue(typed, OFFICES) == []


@pytest.mark.parametrize(("typed", "inbound_id"), [("MSG-12", 12), ("msg-12", 12), ("12", 12)])
def test_message_ids_are_read_as_staff_type_them(typed: str, inbound_id: int) -> None:
    assert parse_message_reference(typed) == inbound_id


def test_message_ids_that_are_not() -> None:
    assert parse_message_reference("LR-000012") is None
    assert parse_message_reference("MSG-") is None


def test_every_queue_lists_open_requests_and_waiting_messages_oldest_first() -> None:
    staff = make_staff()
    first = staff.file(0)  # North
    staff.rig.clock.now = datetime(2016, 3, 22, 9, tzinfo=UTC)
    second = staff.file(1)  # North
    third = staff.file(2)  # Midlands and East
    staff.rig.ingest(email(body="How do I ask for a relationship?\n"))
    closed = staff.file(0)
    staff.requests.change_status(closed, Status.WITHDRAWN, actor="sam")
    listing = staff.queues.items()
    assert listing.queues == ()
    assert [(i.queue, i.reference) for i in listing.items] == [
        ("enquiries", "MSG-4"),
        ("midlands-and-east/new", third),
        ("north/new", first),
        ("north/new", second),
    ]
    north = listing.items[2]
    assert north.age_days == 1 and north.due_on == date(2016, 4, 6) and not north.overdue
    assert north.summary.startswith("NHS Leeds North CCG")


def test_a_name_narrows_the_listing_and_an_unknown_name_is_an_error_listing_the_real_ones() -> None:
    staff = make_staff()
    north = staff.file(0)
    staff.file(2)
    for typed in ("north", "North/new", "NORTH/NEW"):
        listing = staff.queues.items(typed)
        assert [i.reference for i in listing.items] == [north], typed
    assert staff.queues.items("m&e/change").items == ()  # a real queue, empty
    assert staff.queues.items("m&e/change").queues == ("midlands-and-east/change",)
    with pytest.raises(UnknownQueueError) as refused:
        staff.queues.items("nowhere")
    assert "enquiries" in refused.value.known and "north/new" in refused.value.known
    assert "North" in str(refused.value) and "north/new" in str(refused.value)


def test_a_message_waiting_in_an_office_queue_is_listed_under_that_office() -> None:
    staff = make_staff()
    staff.rig.store.memory.add(
        InboundMessage(
            dedupe_key="<x@nhs.net>",
            mailbox="enquiries",
            location="7",
            sha256="0" * 64,
            size=1,
            raw=b"x",
            filed_at=staff.rig.clock(),
            outcome="reply",
            from_addr="someone.else@nhs.net",
            queue="north/replies",
        )
    )
    (item,) = staff.queues.items("North").items
    assert (item.queue, item.reference, item.status) == ("north/replies", "MSG-1", "awaiting staff")


def test_the_queue_shows_an_expired_legal_basis() -> None:
    staff = make_staff()
    staff.file(0, purposes="Risk stratification", s251_references="CAG 7-04(a)/2013")
    assert staff.queues.items().items[0].legal_basis_expired == ()
    staff.rig.clock.now = datetime(2017, 3, 31, 9, tzinfo=UTC)
    assert staff.queues.items().items[0].legal_basis_expired == ("CAG 7-04(a)/2013",)


def test_a_page_of_a_queue_is_sorted_filtered_and_counted_by_the_store() -> None:
    staff = make_staff()
    refs = [staff.file(i) for i in (0, 1, 0)]  # North, North, North (sample 1 is North too)
    page = staff.queues.browse(RequestQuery(statuses=(), queue="north/new", limit=2))
    assert page.total == 3 and [i.reference for i in page.items] == refs[:2]
    rest = staff.queues.browse(RequestQuery(statuses=(), queue="north/new", offset=2, limit=2))
    assert [i.reference for i in rest.items] == refs[2:]
    found = staff.queues.browse(RequestQuery(statuses=(), offices=("north",), text="Darlington"))
    assert [i.reference for i in found.items] == [refs[1]]
    assert staff.queues.browse(RequestQuery(statuses=(), offices=("london",))).total == 0
    (summary,) = staff.queues.summary()
    assert (summary.queue, summary.waiting, summary.overdue) == ("north/new", 3, 0)


def test_the_whole_listing_counts_the_ods_review_items_waiting_and_a_queue_does_not() -> None:
    from intake_bot.domain.organisations import OPEN, SuccessionReview
    from intake_bot.services.queues import OPEN_REVIEW

    assert OPEN_REVIEW == OPEN  # spelt out in queues.py, so that `queue` starts lighter
    staff = make_staff()
    staff.file(0)
    with staff.rig.store.unit() as unit:
        for n, status in enumerate(("open", "carried", "open", "withdrawn")):
            review = SuccessionReview(n, f"LCR-00000{n}", "commissioner", "03G", staff.rig.clock())
            review.status = status
            unit.add(review)
    assert staff.queues.items().reviews_waiting == 2
    assert staff.queues.items("north").reviews_waiting == 0
