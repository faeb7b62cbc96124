"""The requests use case on the fakes: status changes, assignment, and `request show`."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from intake_bot.domain.records import Approval, Relationship, Request
from intake_bot.domain.status import Status
from intake_bot.domain.workflow import LifecycleError, UnknownRequestError
from tests.fakes.workflow import make_staff

RS = "CAG 7-04(a)/2013"  # expires 31/03/2017 (tests/fakes/intake.py)


def test_an_illegal_transition_is_refused_with_the_reason_and_changes_nothing() -> None:
    staff = make_staff()
    ref = staff.file(0)
    with pytest.raises(LifecycleError, match="cannot go from triaged to approved"):
        staff.requests.change_status(ref, Status.APPROVED, actor="sam")
    (request,) = staff.rig.store.memory.all(Request)
    assert request.status == "triaged" and staff.events("status")[-1].actor == "intake-bot"


def test_a_closed_request_never_changes() -> None:
    staff = make_staff()
    ref = staff.file(0)
    staff.requests.change_status(ref, Status.WITHDRAWN, actor="sam")
    with pytest.raises(LifecycleError, match="already withdrawn"):
        staff.requests.change_status(ref, Status.IN_REVIEW, actor="sam")


def test_review_then_approval_emails_the_requester_each_time_and_records_who() -> None:
    staff = make_staff()
    ref = staff.file(0)
    review = staff.requests.change_status(ref, Status.IN_REVIEW, actor="Sam Staff")
    approval = staff.requests.change_status(ref, Status.APPROVED, actor="Sam Staff")
    assert (review.from_status, review.to_status, review.email_queued) == (
        "triaged",
        "in_review",
        True,
    )
    assert approval.relationship == "LCR-000001" and approval.legal_basis is None
    emails = staff.outbox("status_update")
    assert [e.recipients for e in emails] == [["aisha.khan@nhs.net"]] * 2
    statuses = [c["request"]["status"] for c in staff.contexts("status_update")]  # type: ignore[index]
    assert statuses == ["in_review", "approved"]
    changes = [(e.from_status, e.to_status, e.actor) for e in staff.events("status")][-2:]
    assert changes == [
        ("triaged", "in_review", "Sam Staff"),
        ("in_review", "approved", "Sam Staff"),
    ]
    (letter,) = staff.rig.composer.letters[-1:]
    assert letter.in_reply_to is not None  # threaded on the requester's own email


def test_an_internal_change_keeps_its_note_in_the_trail_and_emails_nobody() -> None:
    staff = make_staff()
    ref = staff.file(0)
    staff.requests.change_status(ref, Status.IN_REVIEW, actor="sam")
    before = len(staff.rig.outbox())
    change = staff.requests.change_status(
        ref, Status.TRIAGED, actor="sam", note="back to the pile: waiting for the DSA"
    )
    assert change.email_queued is False and len(staff.rig.outbox()) == before
    assert staff.events("status")[-1].note == "back to the pile: waiting for the DSA"


def test_rejecting_needs_a_note_and_the_requester_is_told_why() -> None:
    staff = make_staff()
    ref = staff.file(0)
    staff.requests.change_status(ref, Status.IN_REVIEW, actor="sam")
    with pytest.raises(LifecycleError, match="--note"):
        staff.requests.change_status(ref, Status.REJECTED, actor="sam", note=" ")
    staff.requests.change_status(ref, Status.REJECTED, actor="sam", note="No contract in place.")
    context = staff.contexts("status_update")[-1]
    assert context["request"]["note"] == "No contract in place."  # type: ignore[index]


def test_an_unknown_reference_is_not_found() -> None:
    staff = make_staff()
    with pytest.raises(UnknownRequestError, match="LR-000123"):
        staff.requests.change_status("LR-9", Status.IN_REVIEW, actor="sam")
    with pytest.raises(UnknownRequestError):
        staff.requests.show("nonsense")


def test_assign_records_who_had_it_before() -> None:
    staff = make_staff()
    ref = staff.file(0)
    first = staff.requests.assign(ref, "Priya", actor="sam")
    second = staff.requests.assign(ref.lower(), "  ", actor="sam")
    assert (first.before, first.after, second.before, second.after) == (
        None,
        "Priya",
        "Priya",
        None,
    )
    assert [e.note for e in staff.events("assign")] == ["nobody → Priya", "Priya → nobody"]


def test_show_has_no_due_date_once_the_request_is_closed() -> None:
    staff = make_staff()
    ref = staff.file(0)
    shown = staff.requests.show(ref)
    assert shown.due_on == date(2016, 4, 6) and not shown.closed  # Easter: 10 working days
    staff.requests.change_status(ref, Status.WITHDRAWN, actor="sam")
    closed = staff.requests.show(ref)
    assert closed.closed and closed.due_on is None
    assert [e.sender for e in closed.emails_in] == ["aisha.khan@nhs.net"]
    assert [a.filename for a in closed.attachments] == ["form.docx"]
    assert [e.action for e in closed.events] == ["status", "status"]


def test_approving_a_relationship_that_starts_after_its_s251_approval_expires_warns() -> None:
    staff = make_staff()
    ref = staff.file(
        0, purposes="Risk stratification", s251_references=RS, effective_date="01/04/2017"
    )
    staff.requests.change_status(ref, Status.IN_REVIEW, actor="sam")
    change = staff.requests.change_status(ref, Status.APPROVED, actor="sam")
    assert change.relationship == "LCR-000001"  # approved: staff are warned, not stopped
    assert change.legal_basis is not None and change.legal_basis.expired == ()
    (lapse,) = change.legal_basis.lapses_before_start
    assert (lapse.approval, lapse.expires, lapse.takes_effect) == (
        RS,
        date(2017, 3, 31),
        date(2017, 4, 1),
    )
    (warning,) = staff.events("legal_basis_warning")
    assert "expires 31/03/2017, before LCR-000001 takes effect on 01/04/2017" in warning.note
    shown = staff.requests.show(ref)
    assert shown.legal_basis.lapses_before_start == (lapse,)


def test_show_flags_a_legal_basis_that_expired_since_approval() -> None:
    staff = make_staff()
    ref = staff.file(0, purposes="Risk stratification", s251_references=RS)
    staff.requests.change_status(ref, Status.IN_REVIEW, actor="sam")
    assert staff.requests.change_status(ref, Status.APPROVED, actor="sam").legal_basis is None
    assert staff.requests.show(ref).legal_basis.expired == ()
    staff.rig.clock.now = datetime(2017, 3, 31, 9, tzinfo=UTC)  # the expiry day
    shown = staff.requests.show(ref)
    assert shown.legal_basis.expired == (RS,) and shown.relationship == "LCR-000001"
    (relationship,) = staff.rig.store.memory.all(Relationship)
    assert relationship.reference == "LCR-000001"


def test_an_approval_extended_in_time_clears_the_warning() -> None:
    staff = make_staff(
        (
            Approval(
                reference=RS, title="", purposes=["Risk stratification"], expires=date(2018, 3, 31)
            ),
        )
    )
    ref = staff.file(
        0, purposes="Risk stratification", s251_references=RS, effective_date="01/04/2017"
    )
    staff.requests.change_status(ref, Status.IN_REVIEW, actor="sam")
    assert staff.requests.change_status(ref, Status.APPROVED, actor="sam").legal_basis is None
    assert staff.events("legal_basis_warning") == []
