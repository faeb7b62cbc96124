"""Succession reviews: a relationship in force names an organisation that ODS says has closed.

Staff get one review item per relationship and closed code, and the relationship's requester
and authoriser are told by email. Nothing in the register changes until staff decide: carry the
relationship over to the successor (a new version naming it) or end it. Each import first brings
the open items up to date (a moved close date, successors named since) or withdraws them (ODS
withdrew the closure, or the relationship no longer names the code). Each step is an audit event.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from intake_bot.domain.ods_views import ReviewItem, decision_day, ends_first, settled_day
from intake_bot.domain.organisation_rules import carried_values
from intake_bot.domain.organisations import (
    CARRIED,
    ENDED,
    OPEN,
    PARTIES,
    WITHDRAWN,
    Change,
    OdsError,
    OrganisationIndex,
    OrgKind,
    SuccessionReview,
    successor_phrase,
    uk,
)
from intake_bot.domain.records import Relationship, RelationshipVersion, saved_id
from intake_bot.domain.register import is_active, status_on
from intake_bot.domain.register_view import in_force_after, terms_on
from intake_bot.ports import Unit
from intake_bot.services import audit
from intake_bot.services.notify import Notifier
from intake_bot.services.ods_notices import tell_closure, tell_decided, tell_withdrawn
from intake_bot.services.ods_review_items import (
    REVIEW_ACTION,
    in_force_from,
    in_offices,
    org_name,
    organisation_index,
    review_item,
)
from intake_bot.services.register.writing import add_version, record_event
from intake_bot.working_days import today_in_england


def open_reviews(
    unit: Unit, notifier: Notifier, now: datetime, today: date, updates: list[Change]
) -> tuple[ReviewItem, ...]:
    """A review item for each relationship in force whose commissioner or processor has closed
    (or is due to close), unless one was opened before; its requester and authoriser told.
    First the open items are brought up to date with the list (`updates` gets what changed)."""
    index = organisation_index(unit)
    updates += refresh_reviews(unit, notifier, index, now, today)
    done = unit.organisations.reviewed()
    withdrawn = unit.organisations.reviews(WITHDRAWN)
    reopen = {(r.relationship_id, r.closed_code): r for r in withdrawn}
    opened: list[ReviewItem] = []
    for rel, version in unit.register.active_with_current(today):
        for party in PARTIES:
            code = getattr(rel, f"{party}_ods")
            org = index.records.get(code) if code else None
            if org is None or org.closed_on is None or (saved_id(rel), code) in done:
                continue
            if ends_first(rel.ended_on, _decided_from(unit, rel, org.closed_on)):
                continue  # it ends before the closure takes effect: nothing to decide
            after = settled_day(org.closed_on, today)
            # One item a relationship and code: a closure ODS withdrew and made again reopens it.
            review = reopen.get((saved_id(rel), code))
            before = None if review is None else review.status
            if review is None:
                review = unit.add(
                    SuccessionReview(saved_id(rel), rel.reference, party, code, created_at=now)
                )
            review.status, review.decided_at, review.decided_by, review.note = OPEN, None, "", ""
            review.closed_on = org.closed_on
            review.successors = index.current_successors(code, after)
            unit.flush()
            item = review_item(unit, review, index, rel, today)
            note = f"{item.label} {item.line()}; awaiting a staff decision"
            audit.record(
                unit, action=REVIEW_ACTION, at=now, from_status=before, to_status=OPEN, note=note
            )
            review.notice_message_id = tell_closure(unit, notifier, item, version.values, now)
            opened.append(item)
    return tuple(opened)


def _codes(codes: Sequence[str]) -> str:
    return " and ".join(codes) or "none named"


def refresh_reviews(
    unit: Unit, notifier: Notifier, index: OrganisationIndex, now: datetime, today: date
) -> list[Change]:
    """Open review items as the list now stands, since staff decide on what an item says:
    a close date ODS moved, successors it named since, a closure it withdrew (the item is then
    withdrawn and the contacts told that nothing changes), or a relationship that no longer
    names the code or is no longer in force (withdrawn: nothing left to decide). Each is audited."""
    changes: list[Change] = []
    for review in unit.organisations.reviews(OPEN):
        withdrawn = _withdraw_if_stale(unit, notifier, review, index, now, today)
        if withdrawn is None:
            changes += _bring_up_to_date(unit, notifier, review, index, now, today)
        else:
            changes.append(withdrawn)
    return changes


def withdraw_if_stale(
    unit: Unit,
    notifier: Notifier,
    review_id: int,
    now: datetime,
    offices: Sequence[str] | None = None,
) -> str:
    """Before a decision: withdraw the open item if nothing is left to decide (as the next
    import would), and say why; "" when it stands. An item outside `offices` (None: every
    office) is refused as unknown, and left as it is."""
    review = in_offices(unit, review_id, offices)
    if review is None or review.status != OPEN:
        return ""
    today = today_in_england(now)
    withdrawn = _withdraw_if_stale(unit, notifier, review, organisation_index(unit), now, today)
    return review.note if withdrawn is not None else ""


def _withdraw_if_stale(
    unit: Unit,
    notifier: Notifier,
    review: SuccessionReview,
    index: OrganisationIndex,
    now: datetime,
    today: date,
) -> Change | None:
    """Withdraw `review` when nothing is left to decide on it, audited (None: it stands). The
    contacts told of a closure are told when ODS withdrew it."""
    code = review.closed_code
    rel = unit.register.get(review.relationship_id)
    org = index.records.get(code)
    if rel is None or not is_active(rel.ended_on, today):
        why = "the relationship is no longer in force"
    elif getattr(rel, f"{review.party}_ods") != code:
        why = f"the relationship no longer names {code}"
    elif ends_first(rel.ended_on, _decided_from(unit, rel, review.closed_on)):
        why = f"the relationship ends on {uk(rel.ended_on)}, before {code}'s closure takes effect"
    elif org is not None and org.closed_on is None:
        why = f"ODS no longer gives {code} a close date"
        values = unit.register.current_version(rel).values
        item = review_item(unit, review, index, rel, today)
        tell_withdrawn(unit, notifier, item, values, now, thread_on=review.notice_message_id)
    else:
        return None
    review.status, review.decided_at, review.decided_by = WITHDRAWN, now, audit.BOT
    review.note = why
    note = f"ODS-{review.id} {review.reference}: withdrawn: {why}"
    audit.record(
        unit, action=REVIEW_ACTION, at=now, from_status=OPEN, to_status=WITHDRAWN, note=note
    )
    return Change("review withdrawn", code, note)


def _decided_from(
    unit: Unit,
    rel: Relationship,
    closed_on: date | None,
    versions: Sequence[RelationshipVersion] | None = None,
) -> date | None:
    """The day a decision on `closed_on`'s closure takes effect: the day after it, or when the
    terms then in force began (never a version dated later, whichever item is decided first)."""
    return decision_day(closed_on, in_force_from(unit, rel, closed_on, versions))


def _bring_up_to_date(
    unit: Unit,
    notifier: Notifier,
    review: SuccessionReview,
    index: OrganisationIndex,
    now: datetime,
    today: date,
) -> list[Change]:
    """An open item as ODS now gives it; the contacts told of it are told what moved."""
    org = index.records.get(review.closed_code)
    if org is None or org.closed_on is None:
        return []
    moved: list[tuple[str, str, str]] = []  # (what, before, now), for the audit and the contacts
    if org.closed_on != review.closed_on:
        moved.append(("close date", uk(review.closed_on), uk(org.closed_on)))
        review.closed_on = org.closed_on
    after = settled_day(org.closed_on, today)
    successors = index.current_successors(review.closed_code, after)
    if successors != list(review.successors):
        moved.append(("successor", _codes(review.successors), _codes(successors)))
        review.successors = successors
    if not moved:
        return []
    found = "; ".join(f"{what} {was} → {now_}" for what, was, now_ in moved)
    note = f"ODS-{review.id} {review.reference}: {found}"
    audit.record(unit, action=REVIEW_ACTION, at=now, note=note)
    rel = unit.register.get(review.relationship_id)
    if rel is not None:  # (in force: _withdraw_if_stale came first)
        item = review_item(unit, review, index, rel, today)
        values = unit.register.current_version(rel).values
        tell = " and ".join(f"the {what} from {was} to {now_}" for what, was, now_ in moved)
        thread_on = review.notice_message_id
        tell_closure(unit, notifier, item, values, now, updated=tell, thread_on=thread_on)
    return [Change("review updated", review.closed_code, note)]


def decide_review(
    unit: Unit,
    notifier: Notifier,
    review_id: int,
    decision: str,
    *,
    now: datetime,
    actor: str,
    to: str | None,
    note: str,
    offices: Sequence[str] | None = None,
) -> ReviewItem:
    """Carry the relationship over to the successor, or end it; then the item is decided and
    the relationship's requester and authoriser are told. `offices`: those of the account
    deciding (None: every office); another office's item is answered as no such item."""
    review = in_offices(unit, review_id, offices)
    if review is None:
        raise OdsError(f"ODS-{review_id}: no such review item (see `intake-bot ods reviews`)")
    if review.status == WITHDRAWN:
        raise OdsError(f"ODS-{review_id} was withdrawn ({review.note}); nothing to decide")
    if review.status != OPEN:
        raise OdsError(f"ODS-{review_id} was decided already ({review.status})")
    rel = unit.register.get(review.relationship_id)
    today = today_in_england(now)
    if rel is None or not is_active(rel.ended_on, today):
        raise OdsError(f"ODS-{review_id}: {review.reference} is no longer in force; nothing to do")
    index = organisation_index(unit)
    values = dict(unit.register.current_version(rel).values)  # the contacts, before any change
    carried_to: tuple[str, str] | None = None
    ends_on: date | None = None
    if decision == "carry":
        what, chosen = _carry(unit, review, rel, index, to, now, actor)
        carried_to = (chosen, org_name(index, chosen))
    elif decision == "end":
        what, ends_on = _end(unit, review, rel, now, actor, today)
    else:
        raise OdsError(f'decision {decision!r}: expected "carry" or "end"')
    review.status = CARRIED if decision == "carry" else ENDED
    review.decided_at, review.decided_by, review.note = now, actor, note
    audit.record(
        unit,
        action=REVIEW_ACTION,
        at=now,
        actor=actor,
        from_status=OPEN,
        to_status=review.status,
        note=f"ODS-{review_id} {review.reference}: {what}" + (f" ({note})" if note else ""),
    )
    item = review_item(unit, review, index, rel, today)
    tell_decided(
        unit,
        notifier,
        item,
        values,
        now,
        carried_to=carried_to,
        ends_on=ends_on,
        thread_on=review.notice_message_id,
    )
    if carried_to is not None and index.records[carried_to[0]].closed_on is not None:
        open_reviews(unit, notifier, now, today, [])  # the successor closes too: its item now
    return item


def _carry(
    unit: Unit,
    review: SuccessionReview,
    rel: Relationship,
    index: OrganisationIndex,
    to: str | None,
    now: datetime,
    actor: str,
) -> tuple[str, str]:
    """What was done, for the audit trail, and the successor's code."""
    today = today_in_england(now)
    # As the item names them: where the work is once the closure has taken effect (a successor
    # closing the same day hands on to its own).
    after = settled_day(review.closed_on, today)
    successors = index.current_successors(review.closed_code, after)
    chosen = (to or "").strip().upper() or (successors[0] if len(successors) == 1 else "")
    if not chosen:
        named = " or ".join(successors) if successors else "none known to ODS"
        raise OdsError(f"ODS-{review.id}: name the successor with --to (successors: {named})")
    versions = unit.register.versions(saved_id(rel))
    effective = _decided_from(unit, rel, review.closed_on, versions)
    _check_successor(review, index, chosen, effective or after, successors)
    # Never before the successor opened: at the end of a chain (03G → 15F in 2022, 15F → a
    # new ICB in 2026) the register names the new ICB from the day it began.
    opened = index.records[chosen].opened_on
    if effective is not None and opened is not None and opened > effective:
        effective = opened
    day = effective or today
    terms = terms_on(versions, day) or unit.register.current_version(rel)
    source = f"ODS succession {review.closed_code} → {chosen} (ODS-{review.id})"
    org, code_key = index.records[chosen], f"{review.party}_ods"
    values = carried_values(terms.values, review.party, org)
    add_version(
        unit, rel, values, effective_from=effective, now=now, request_id=None, source=source
    )
    # Terms dated later (a change approved from next year, another item's carry) would be
    # hidden by this version, the newer: each comes again after it, the code carried there too.
    for later in in_force_after(versions, day):
        again = dict(later.values)
        if again.get(code_key) == review.closed_code:
            again = carried_values(again, review.party, org)
        repeat = f"v{later.version}'s terms again after {source}"
        add_version(
            unit,
            rel,
            again,
            effective_from=later.effective_from,
            now=now,
            request_id=later.request_id,
            source=repeat,
        )
    what = f"{review.party} {review.closed_code} → {chosen} from {uk(effective)}"
    record_event(unit, now, actor, f"{rel.reference}: {what} (ODS-{review.id})")
    return f"carried over: {what}", chosen


def _end(
    unit: Unit,
    review: SuccessionReview,
    rel: Relationship,
    now: datetime,
    actor: str,
    today: date,
) -> tuple[str, date]:
    """What was done, for the audit trail, and the relationship's end date."""
    ends = _decided_from(unit, rel, review.closed_on) or today
    before = status_on(rel.ended_on, today)
    rel.ended_on, rel.updated_at = ends, now
    rel.status = status_on(ends, today)
    what = f"ends on {uk(ends)}: its {review.party} {review.closed_code} closed"
    record_event(
        unit, now, actor, f"{rel.reference} {what} (ODS-{review.id})", statuses=(before, rel.status)
    )
    return f"ended: {what}", ends


def _check_successor(
    review: SuccessionReview,
    index: OrganisationIndex,
    chosen: str,
    on: date,
    successors: Sequence[str],
) -> None:
    """Refuse a successor the register cannot name, or that is no successor: the code that
    closed, one ODS does not name as its successor when it names some, a code ODS's reports
    do not give (no name to record: import the report that lists it), an organisation itself
    closed by the day the carry takes effect, or a trust as a commissioner."""
    where = f"ODS-{review.id}"
    if chosen == review.closed_code:
        raise OdsError(f"{where}: {chosen} is the organisation that closed; name its successor")
    if successors and chosen not in successors:
        named = " or ".join(successors)
        raise OdsError(
            f"{where}: {chosen} is not a successor ODS names for {review.closed_code} ({named}); "
            "to carry the relationship elsewhere, end it and file a new request"
        )
    org = index.records.get(chosen)
    if org is None or not org.name:
        raise OdsError(
            f"{where}: {chosen} is not in the ODS reports imported; import the report that "
            "lists it (its name and kind), then decide again"
        )
    if org.closed_on is not None and org.closed_on < max(on, org.opened_on or on):  # (as _carry)
        raise OdsError(
            f"{where}: {chosen} ({org.name}) closed on {uk(org.closed_on)}, before {uk(on)}; "
            f"{successor_phrase(index, chosen, on)}"
        )
    if review.party == "commissioner" and org.kind == OrgKind.TRUST.value:
        raise OdsError(f"{where}: {chosen} ({org.name}) is a trust, not a commissioner")
