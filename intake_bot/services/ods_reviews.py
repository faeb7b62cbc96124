"""Succession reviews: a relationship in force names an organisation that ODS says has closed.

Staff get one review item per relationship and closed code, and the relationship's requester
and authoriser are told by email. Nothing in the register changes until staff decide: carry the
relationship over to the successor (a new version naming it) or end it. Each import first brings
the open items up to date (a moved close date, successors named since) or withdraws them (ODS
withdrew the closure, or the relationship no longer names the code). Each step is an audit event.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator, Sequence
from datetime import date, datetime

from intake_bot.domain.ods_views import ReviewItem, ends_first, settled_day
from intake_bot.domain.organisations import (
    CARRIED,
    ENDED,
    OPEN,
    PARTIES,
    WITHDRAWN,
    Change,
    OdsError,
    OdsOrganisation,
    OrganisationIndex,
    SuccessionReview,
    uk,
)
from intake_bot.domain.records import Relationship, RelationshipVersion, saved_id
from intake_bot.domain.register import ENDED as RELATIONSHIP_ENDED
from intake_bot.domain.register import is_active
from intake_bot.domain.register_view import in_force_after, terms_on
from intake_bot.ports import Store, Unit
from intake_bot.services import audit
from intake_bot.services.notify import Notifier
from intake_bot.services.ods_decisions import carry, end
from intake_bot.services.ods_notices import tell_closure, tell_decided, tell_withdrawn
from intake_bot.services.ods_review_items import (
    REVIEW_ACTION,
    decided_from,
    in_offices,
    org_name,
    organisation_index,
    review_item,
)
from intake_bot.working_days import today_in_england

log = logging.getLogger(__name__)
FOLLOW_WAIT_MS = 5_000  # how long a register change waits for the list held by an import


def follow_register(
    store: Store, notifier: Notifier, now: datetime, references: Collection[str]
) -> tuple[ReviewItem, ...]:
    """After the register changed outside an import (a request approved, a register loaded):
    the review items as the list already says, so a relationship naming a closed organisation
    gets its item now, not at the next import of the same files. In a unit of its own, after
    the change committed; idempotent, so what a busy list leaves undone the next import or
    decision does."""
    try:
        with store.unit() as unit:
            # Not the import's long wait: the change is made, and staff should not wait on it.
            unit.organisations.lock_list(wait_ms=FOLLOW_WAIT_MS)
            found = (unit.register.by_reference(ref) for ref in references)
            only = {saved_id(rel) for rel in found if rel is not None}
            return open_reviews(unit, notifier, now, today_in_england(now), [], only)
    except OdsError:
        log.warning(
            "the register change stands; its review items are left for the next ODS import "
            "or review decision (either looks at every relationship), as the organisation "
            "list was busy"
        )
        return ()


def open_reviews(
    unit: Unit,
    notifier: Notifier,
    now: datetime,
    today: date,
    updates: list[Change],
    only: Collection[int] | None = None,
) -> tuple[ReviewItem, ...]:
    """A review item for each relationship in force whose commissioner or processor has closed
    (or is due to close), unless one was opened before; its requester and authoriser told.
    First the open items are brought up to date with the list (`updates` gets what changed).
    `only`: the relationships a register change touched (None: all, as an import does)."""
    index = organisation_index(unit)
    updates += refresh_reviews(unit, notifier, index, now, today, only)
    done = unit.organisations.reviewed()
    # One item a relationship and code: a closure ODS withdrew and made again reopens it, and so
    # does a decision the register no longer follows (a change approved since names the code).
    reopen = {
        (r.relationship_id, r.closed_code): r
        for status in (WITHDRAWN, CARRIED, ENDED)
        for r in unit.organisations.reviews(status)
    }
    opened: list[ReviewItem] = []
    for rel, version in _in_force(unit, today, only):
        for party, code, org in _closed_parties(unit, rel, index):
            if ends_first(rel.ended_on, decided_from(unit, rel, org.closed_on)):
                continue  # it ends before the closure takes effect: nothing to decide
            review = reopen.get((saved_id(rel), code))
            if (saved_id(rel), code) in done and (review is None or _still_holds(unit, review)):
                continue  # open already, or decided and the register still follows it
            after = settled_day(org.closed_on, today)
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
            if before in (CARRIED, ENDED):
                note += f" again: the register no longer follows its decision ({before})"
            review.notice_message_id = tell_closure(unit, notifier, item, version.values, now)
            if review.notice_message_id is None:
                note += "; no address for the requester or the authoriser: nobody emailed"
            audit.record(
                unit, action=REVIEW_ACTION, at=now, from_status=before, to_status=OPEN, note=note
            )
            opened.append(item)
    return tuple(opened)


def _in_force(
    unit: Unit, today: date, only: Collection[int] | None
) -> list[tuple[Relationship, RelationshipVersion]]:
    """The relationships in force with their newest versions: all, or those in `only`."""
    if only is None:
        return unit.register.active_with_current(today)
    found = (unit.register.get(rel_id) for rel_id in sorted(only))
    return [
        (rel, unit.register.current_version(rel))
        for rel in found
        if rel is not None and rel.status != RELATIONSHIP_ENDED and is_active(rel.ended_on, today)
    ]


def _closed_parties(
    unit: Unit, rel: Relationship, index: OrganisationIndex
) -> Iterator[tuple[str, str, OdsOrganisation]]:
    """(party, code, organisation) for each closed organisation the relationship names in
    terms in force once its closure takes effect: the newest version's, and an earlier
    version's that still holds then (a change dated next year leaves this year's terms)."""
    versions = None if rel.current_version <= 1 else unit.register.versions(saved_id(rel))
    for party in PARTIES:
        key = f"{party}_ods"
        named = [getattr(rel, key)] if versions is None else [v.values.get(key) for v in versions]
        for code in dict.fromkeys(c for c in named if isinstance(c, str) and c):
            org = index.records.get(code)
            if org is None or org.closed_on is None:
                continue
            if versions is None or names_after_closure(
                unit, rel, party, code, org.closed_on, versions
            ):
                yield party, code, org


def names_after_closure(
    unit: Unit,
    rel: Relationship,
    party: str,
    code: str,
    closed_on: date | None,
    versions: Sequence[RelationshipVersion] | None = None,
) -> bool:
    """Whether `rel` names `code` as its `party` in terms in force from the day a decision on
    its closure would take effect (that day's terms, or any that begin later)."""
    terms = _terms_after(unit, rel, closed_on, versions)
    if terms is None:
        return bool(getattr(rel, f"{party}_ods") == code)
    return any(v.values.get(f"{party}_ods") == code for v in terms)


def _terms_after(
    unit: Unit,
    rel: Relationship,
    closed_on: date | None,
    versions: Sequence[RelationshipVersion] | None = None,
) -> list[RelationshipVersion] | None:
    """The versions in force from the day a decision on a closure on `closed_on` takes effect:
    that day's, then each that begins later (None: no such day)."""
    found = unit.register.versions(saved_id(rel)) if versions is None else versions
    day = decided_from(unit, rel, closed_on, found)
    if day is None:
        return None
    return [v for v in (terms_on(found, day), *in_force_after(found, day)) if v is not None]


def _still_holds(unit: Unit, review: SuccessionReview) -> bool:
    """Whether a decided item's decision is what the register still says. A carry: no version
    added since names the closed code from the day it took effect. An end: the relationship
    still ends by the day the decision gave, for the closure as it was decided (ODS moving the
    closure since is a `decision to check`, not a reason to decide again)."""
    rel = unit.register.get(review.relationship_id)
    if rel is None:
        return True
    if review.status == ENDED:
        return ends_first(rel.ended_on, decided_from(unit, rel, review.closed_on))
    if review.status != CARRIED:
        return True
    versions = unit.register.versions(saved_id(rel))
    mark = f"(ODS-{review.id})"  # the carry's version, and those it repeated after it
    carried = max((v.version for v in versions if v.source.endswith(mark)), default=0)
    key = f"{review.party}_ods"
    terms = _terms_after(unit, rel, review.closed_on, versions) or []
    return not any(v.version > carried and v.values.get(key) == review.closed_code for v in terms)


def _codes(codes: Sequence[str]) -> str:
    return " and ".join(codes) or "none named"


def refresh_reviews(
    unit: Unit,
    notifier: Notifier,
    index: OrganisationIndex,
    now: datetime,
    today: date,
    only: Collection[int] | None = None,
) -> list[Change]:
    """Open review items as the list now stands, since staff decide on what an item says:
    a close date ODS moved, successors it named since, a closure it withdrew (the item is then
    withdrawn and the contacts told that nothing changes), or a relationship that no longer
    names the code or is no longer in force (withdrawn: nothing left to decide). Each is audited."""
    changes: list[Change] = []
    for review in unit.organisations.reviews(OPEN):
        if only is not None and review.relationship_id not in only:
            continue
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
    # Judged on the closure as ODS now gives it: a close date moved later may leave nothing
    # to decide (the terms then in force name the successor already).
    closed_on = org.closed_on if org is not None and org.closed_on else review.closed_on
    if rel is None or not is_active(rel.ended_on, today):
        why = "the relationship is no longer in force"
    elif not names_after_closure(unit, rel, review.party, code, closed_on):
        why = f"the relationship no longer names {code}"
    elif ends_first(rel.ended_on, decided_from(unit, rel, closed_on)):
        ends = uk(rel.ended_on)
        why = f"the relationship ends on {ends}, no later than {code}'s closure takes effect"
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
    if decision == "carry":
        what, chosen, review.effective_on = carry(unit, review, rel, index, to, now, actor)
        carried_to, review.carried_to = (chosen, org_name(index, chosen)), chosen
    elif decision == "end":
        what, review.effective_on = end(unit, review, rel, now, actor, today)
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
        ends_on=None if carried_to else review.effective_on,
        thread_on=review.notice_message_id,
    )
    # What the decision changed for the other items: a successor closing too opens its item
    # now; an end leaves nothing to decide on the relationship's other party. The next import
    # of the same files then finds nothing to do.
    open_reviews(unit, notifier, now, today, [])  # every item, as an import: cheap enough here
    return item
