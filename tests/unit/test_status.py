from __future__ import annotations

import pytest

from intake_bot.domain.fields import RequestType
from intake_bot.domain.status import CLOSED, OPEN, Status, check_transition, parse_status
from intake_bot.domain.triage import (
    parse_request_reference,
    queue_for,
    request_reference,
)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (Status.RECEIVED, Status.TRIAGED),
        (Status.RECEIVED, Status.INCOMPLETE),
        (Status.INCOMPLETE, Status.TRIAGED),
        (Status.TRIAGED, Status.IN_REVIEW),
        (Status.IN_REVIEW, Status.APPROVED),
        (Status.IN_REVIEW, Status.REJECTED),
        (Status.TRIAGED, Status.WITHDRAWN),
    ],
)
def test_allowed_transitions(current: Status, target: Status) -> None:
    assert check_transition(current, target) is None


def test_closed_requests_never_change() -> None:
    for closed in CLOSED:
        for target in Status:
            refused = check_transition(closed, target)
            assert refused is not None
            assert "closed" in refused.message


def test_approval_needs_a_review_first_and_the_refusal_says_what_is_allowed() -> None:
    refused = check_transition(Status.TRIAGED, Status.APPROVED)
    assert refused is not None
    assert "in_review" in refused.message


def test_every_open_status_can_be_withdrawn() -> None:
    for s in OPEN:
        assert check_transition(s, Status.WITHDRAWN) is None


def test_parse_status_is_forgiving_about_spelling() -> None:
    assert parse_status("In review") is Status.IN_REVIEW
    assert parse_status("in-review") is Status.IN_REVIEW
    assert parse_status("nonsense") is None


def test_queue_is_office_times_kind() -> None:
    assert queue_for("Midlands and East", RequestType.NEW, True) == "midlands-and-east/new"
    assert queue_for("North", RequestType.END, True) == "north/end"
    assert queue_for("North", RequestType.END, False) == "north/incomplete"
    assert queue_for(None, None, False) == "unassigned/incomplete"


def test_request_references_round_trip() -> None:
    assert request_reference(123) == "LR-000123"
    assert parse_request_reference("Re: [LR-000123] Request received") == 123
    assert parse_request_reference("no reference here") is None
