"""Succession reviews: a relationship in force names an organisation that ODS says has closed.

Staff get one review item per relationship and closed code, and the relationship's requester
and authoriser are told by email. Nothing in the register changes until staff decide: carry the
relationship over to the successor (a new version naming it) or end it. Each step is an audit
event.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from intake_bot.domain.ods_views import ReviewItem, organisation_name
from intake_bot.domain.organisations import (
    CARRIED,
    ENDED,
    OPEN,
    PARTIES,
    OdsError,
    OrganisationIndex,
    SuccessionReview,
    uk,
)
from intake_bot.domain.records import Relationship, saved_id
from intake_bot.domain.register import is_active, status_on, stored_text
from intake_bot.ports import Unit
from intake_bot.services import audit
from intake_bot.services.notify import Notifier
from intake_bot.services.register.writing import add_version, record_event
from intake_bot.services.reminder_mail import CONTACTS, recipients
from intake_bot.working_days import today_in_england

REVIEW_ACTION = "ods_review"
EMAIL_KIND = "ods_succession"
DECISION_KIND = "ods_decision"  # templates/email/ods_decision.*
_PARTY_LABELS = {"commissioner": "commissioning organisation", "processor": "data processor"}


def _index(unit: Unit) -> OrganisationIndex:
    return OrganisationIndex((), unit.organisations.all(), unit.organisations.successions())


def open_reviews(
    unit: Unit, notifier: Notifier, now: datetime, today: date
) -> tuple[ReviewItem, ...]:
    """A review item for each relationship in force whose commissioner or processor has closed
    (or is due to close), unless one was opened before; its requester and authoriser told."""
    index = _index(unit)
    done = unit.organisations.reviewed()
    opened: list[ReviewItem] = []
    for rel, version in unit.register.active_with_current(today):
        for party in PARTIES:
            code = getattr(rel, f"{party}_ods")
            org = index.records.get(code) if code else None
            if org is None or org.closed_on is None or (saved_id(rel), code) in done:
                continue
            after = max(today, org.closed_on + timedelta(days=1))
            review = unit.add(
                SuccessionReview(
                    relationship_id=saved_id(rel),
                    reference=rel.reference,
                    party=party,
                    closed_code=code,
                    closed_on=org.closed_on,
                    successors=index.current_successors(code, after),
                    created_at=now,
                )
            )
            unit.flush()
            item = _item(review, index, rel)
            audit.record(unit, action=REVIEW_ACTION, at=now, to_status=OPEN, note=_opened(item))
            review.notice_message_id = _tell(unit, notifier, item, version.values, now)
            opened.append(item)
    return tuple(opened)


def _opened(item: ReviewItem) -> str:
    successors = " and ".join(code for code, _ in item.successors) or "no successor"
    return (
        f"{item.label} {item.reference}: {item.party} {item.closed_code} closes on "
        f"{uk(item.closed_on)}; successor {successors}; awaiting a staff decision"
    )


def _tell(
    unit: Unit, notifier: Notifier, item: ReviewItem, values: Mapping[str, object], now: datetime
) -> str | None:
    """The notice to the relationship's contacts; its Message-ID, for the decision to thread on."""
    to = recipients(values)
    if not to:
        return None
    context = _context(notifier, item, values, now)
    return notifier.queue(
        unit, kind=EMAIL_KIND, to=to, context=context, now=now, auto_submitted="auto-generated"
    ).message_id


def _context(
    notifier: Notifier, item: ReviewItem, values: Mapping[str, object], now: datetime
) -> dict[str, Any]:
    """What both emails say of the item: names without their codes, as each code is shown
    beside its name (ODS names a sub-ICB location "<ICB> - <code>")."""
    names = [stored_text(values.get(name)) for _, name in CONTACTS]
    return {
        **notifier.base_context(" and ".join(dict.fromkeys(n for n in names if n))),
        "reference": item.reference,
        "party": _PARTY_LABELS[item.party],
        "closed_code": item.closed_code,
        "closed_name": organisation_name(item.closed_name, item.closed_code),
        "closed_on": uk(item.closed_on),
        "closed_already": item.closed_on is not None and item.closed_on < today_in_england(now),
        "successors": [{"code": c, "name": organisation_name(n, c)} for c, n in item.successors],
    }


def _tell_decided(
    unit: Unit,
    notifier: Notifier,
    item: ReviewItem,
    values: Mapping[str, object],
    now: datetime,
    *,
    carried_to: tuple[str, str] | None,
    ends_on: date | None,
    thread_on: str | None,
) -> None:
    """The requester and authoriser, told of the review when it opened, are told how it ended:
    carried over to which successor from which day, or ended on which day. Staff's note stays
    in the audit trail: it was written for colleagues."""
    to = recipients(values)
    if not to:
        return
    context = _context(notifier, item, values, now)
    today = today_in_england(now)
    if carried_to is not None:
        code, name = carried_to
        context["decision"] = "carried"
        context["successor"] = {"code": code, "name": organisation_name(name, code)}
        context["from_date"] = uk(item.changes_on)
    else:
        context["decision"] = "ended"
        context["ends_on"] = uk(ends_on)
        context["ended_already"] = ends_on is not None and ends_on <= today
    notifier.queue(
        unit,
        kind=DECISION_KIND,
        to=to,
        context=context,
        now=now,
        in_reply_to=thread_on,
        references=(thread_on,) if thread_on else (),
        auto_submitted="auto-generated",
    )


def review_items(unit: Unit, status: str | None) -> list[ReviewItem]:
    index = _index(unit)
    return [
        _item(review, index, unit.register.get(review.relationship_id))
        for review in unit.organisations.reviews(status)
    ]


def _item(
    review: SuccessionReview, index: OrganisationIndex, rel: Relationship | None
) -> ReviewItem:
    closed = index.records.get(review.closed_code)
    return ReviewItem(
        id=saved_id(review),
        reference=review.reference,
        party=review.party,
        closed_code=review.closed_code,
        closed_name=closed.name if closed else "",
        closed_on=review.closed_on,
        successors=tuple((c, _name(index, c)) for c in review.successors),
        status=review.status,
        dscro=(rel.dscro or "") if rel else "",
        decided_by=review.decided_by,
        decided_at=review.decided_at,
        note=review.note,
    )


def _name(index: OrganisationIndex, code: str) -> str:
    org = index.records.get(code)
    return org.name if org else ""


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
) -> ReviewItem:
    """Carry the relationship over to the successor, or end it; then the item is decided and
    the relationship's requester and authoriser are told."""
    review = unit.organisations.review(review_id)
    if review is None:
        raise OdsError(f"ODS-{review_id}: no such review item (see `intake-bot ods reviews`)")
    if review.status != OPEN:
        raise OdsError(f"ODS-{review_id} was decided already ({review.status})")
    rel = unit.register.get(review.relationship_id)
    today = today_in_england(now)
    if rel is None or not is_active(rel.ended_on, today):
        raise OdsError(f"ODS-{review_id}: {review.reference} is no longer in force; nothing to do")
    index = _index(unit)
    values = dict(unit.register.current_version(rel).values)  # the contacts, before any change
    carried_to: tuple[str, str] | None = None
    ends_on: date | None = None
    if decision == "carry":
        what, chosen = _carry(unit, review, rel, index, to, now, actor)
        carried_to = (chosen, _name(index, chosen))
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
    item = _item(review, index, rel)
    _tell_decided(
        unit,
        notifier,
        item,
        values,
        now,
        carried_to=carried_to,
        ends_on=ends_on,
        thread_on=review.notice_message_id,
    )
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
    successors = index.current_successors(review.closed_code, today_in_england(now))
    chosen = (to or "").strip().upper() or (successors[0] if len(successors) == 1 else "")
    if not chosen:
        named = " or ".join(successors) if successors else "none known to ODS"
        raise OdsError(f"ODS-{review.id}: name the successor with --to (successors: {named})")
    if to and chosen not in successors and chosen not in index.records:
        raise OdsError(f"ODS-{review.id}: {chosen} is not an organisation ODS lists")
    values = dict(unit.register.current_version(rel).values)
    values[f"{review.party}_ods"] = chosen
    if chosen in index.records:
        values[f"{review.party}_name"] = index.records[chosen].name
    effective = review.closed_on + timedelta(days=1) if review.closed_on else None
    source = f"ODS succession {review.closed_code} → {chosen} (ODS-{review.id})"
    add_version(
        unit, rel, values, effective_from=effective, now=now, request_id=None, source=source
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
    ends = review.closed_on + timedelta(days=1) if review.closed_on else today
    before = status_on(rel.ended_on, today)
    rel.ended_on, rel.updated_at = ends, now
    rel.status = status_on(ends, today)
    what = f"ends on {uk(ends)}: its {review.party} {review.closed_code} closed"
    record_event(
        unit, now, actor, f"{rel.reference} {what} (ODS-{review.id})", statuses=(before, rel.status)
    )
    return f"ended: {what}", ends
