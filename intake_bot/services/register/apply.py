"""Approved requests applied to the register.

An approved *new* request creates a relationship (LCR-000123), a *change* adds a version (the
history stays), an *end* ends it on its effective date. Every change is an audit event.
"""

from __future__ import annotations

from datetime import date, datetime

from intake_bot.domain.records import Relationship, Request, saved_id
from intake_bot.domain.register import (
    ENDED,
    RegisterError,
    format_reference,
    is_active,
    merge_change,
    parse_reference,
    relationship_values,
    status_on,
    stored_date,
)
from intake_bot.domain.triage import request_reference
from intake_bot.ports import Unit
from intake_bot.services.register.writing import (
    add_relationship,
    add_version,
    describe,
    record_event,
)
from intake_bot.working_days import today_in_england


def apply_approved_request(
    unit: Unit, request: Request, *, now: datetime, actor: str
) -> Relationship:
    """Make an approved request's change to the register, inside the caller's transaction.

    New: a relationship with the next LCR reference and its first version. Change: a new version of
    the relationship the request names. End: the relationship ends on the effective date. Applying
    the same request twice changes nothing the second time. Raises RegisterError when the request
    names no relationship in force, or is of no kind that changes the register.
    """
    if request.id is None:
        unit.flush()
    request_id = saved_id(request)
    done = unit.register.version_for_request(request_id)
    if done is not None:  # applied before (a retried approval)
        rel = unit.register.get(done.relationship_id)
        assert rel is not None  # a version's relationship (a foreign key)
        return rel
    if request.request_type == "new":
        return _create_from(unit, request, now, actor)
    if request.request_type == "change":
        return _change_from(unit, request, now, actor)
    if request.request_type == "end":
        return _end_from(unit, request, now, actor)
    raise RegisterError(
        f"{request_reference(request_id)} is not a new, change or end request; "
        "the register was not changed"
    )


def _values_of(request: Request) -> dict[str, object]:
    """What the request says of the relationship, and who asked (reminded before an s251
    approval it relies on expires), even when only the request's own record holds the address."""
    values = relationship_values(request.values)
    if "requester_email" not in values and request.requester_email.strip():
        values["requester_email"] = request.requester_email.strip()
    return values


def _create_from(unit: Unit, request: Request, now: datetime, actor: str) -> Relationship:
    request_id = saved_id(request)
    unit.register.lock_references()
    reference = format_reference(unit.register.next_reference_number())
    rel = add_relationship(
        unit,
        reference,
        merge_change({}, _values_of(request)),
        effective_from=stored_date(request.values.get("effective_date")),
        now=now,
        request_id=request_id,
        source=request_reference(request_id),
    )
    request.relationship_id = saved_id(rel)
    record_event(unit, now, actor, f"{reference} created", request_id=request_id)
    return rel


def _change_from(unit: Unit, request: Request, now: datetime, actor: str) -> Relationship:
    request_id = saved_id(request)
    rel = _named_relationship(unit, request, today_in_england(now))
    current = unit.register.current_version(rel)
    merged = merge_change(current.values, _values_of(request))
    add_version(
        unit,
        rel,
        merged,
        effective_from=stored_date(request.values.get("effective_date")),
        now=now,
        request_id=request_id,
        source=request_reference(request_id),
    )
    request.relationship_id = rel.id
    note = f"{rel.reference} version {rel.current_version}: {describe(current.values, merged)}"
    record_event(unit, now, actor, note, request_id=request_id)
    return rel


def _end_from(unit: Unit, request: Request, now: datetime, actor: str) -> Relationship:
    request_id = saved_id(request)
    ref = request_reference(request_id)
    ends = stored_date(request.values.get("effective_date"))
    if ends is None:
        raise RegisterError(f"{ref} gives no date for the end; the register was not changed")
    today = today_in_england(now)
    rel = _relationship_named_by(unit, request)
    request.relationship_id = rel.id
    if rel.ended_on == ends:  # applied before
        return rel
    if not is_active(rel.ended_on, today):
        raise RegisterError(f"{rel.reference} already ended on {rel.ended_on:%d/%m/%Y}")
    before = status_on(rel.ended_on, today)
    rel.ended_on, rel.updated_at = ends, now
    rel.status = status_on(ends, today)
    verb = "ended" if rel.status == ENDED else "ends"
    record_event(
        unit,
        now,
        actor,
        f"{rel.reference} {verb} on {ends:%d/%m/%Y}",
        request_id=request_id,
        statuses=(before, rel.status),
    )
    return rel


def _named_relationship(unit: Unit, request: Request, today: date) -> Relationship:
    """The relationship a change request names, which must be in force."""
    rel = _relationship_named_by(unit, request)
    if not is_active(rel.ended_on, today):
        raise RegisterError(
            f"{rel.reference} ended on {rel.ended_on:%d/%m/%Y}; an ended relationship cannot change"
        )
    return rel


def _relationship_named_by(unit: Unit, request: Request) -> Relationship:
    named = str(request.values.get("existing_reference") or "")
    number = parse_reference(named)
    rel = unit.register.by_reference(format_reference(number)) if number else None
    if rel is None:
        shown = f'"{named}"' if named else "no relationship reference"
        raise RegisterError(
            f"{request_reference(saved_id(request))} names {shown}, which is not in the register"
        )
    return rel
