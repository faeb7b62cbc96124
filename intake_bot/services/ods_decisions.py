"""Staff's two decisions on a review item, as the register records them: carry the relationship
over to the successor (a new version naming it, the later terms repeated after it) or end it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from intake_bot.domain.ods_views import settled_day
from intake_bot.domain.organisation_rules import carried_values
from intake_bot.domain.organisations import (
    OdsError,
    OrganisationIndex,
    OrgKind,
    SuccessionReview,
    successor_phrase,
    uk,
)
from intake_bot.domain.records import Relationship, saved_id
from intake_bot.domain.register import status_on
from intake_bot.domain.register_view import in_force_after, terms_on
from intake_bot.ports import Unit
from intake_bot.services.ods_review_items import decided_from
from intake_bot.services.register.writing import add_version, record_event
from intake_bot.working_days import today_in_england


def carry(
    unit: Unit,
    review: SuccessionReview,
    rel: Relationship,
    index: OrganisationIndex,
    to: str | None,
    now: datetime,
    actor: str,
) -> tuple[str, str, date]:
    """What was done, for the audit trail, the successor's code and the day it takes effect."""
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
    effective = decided_from(unit, rel, review.closed_on, versions)
    # The end of a chain, or one step along it (03G → 15F from 2022, then 15F's own item
    # carries on to the ICB from 2026): the register then names each in its time.
    steps = [*successors, *index.direct_successors(review.closed_code)]
    check_successor(review, index, chosen, effective or after, list(dict.fromkeys(steps)))
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
    return f"carried over: {what}", chosen, day


def end(
    unit: Unit,
    review: SuccessionReview,
    rel: Relationship,
    now: datetime,
    actor: str,
    today: date,
) -> tuple[str, date]:
    """What was done, for the audit trail, and the relationship's end date."""
    ends = decided_from(unit, rel, review.closed_on) or today
    before = status_on(rel.ended_on, today)
    rel.ended_on, rel.updated_at = ends, now
    rel.status = status_on(ends, today)
    what = f"ends on {uk(ends)}: its {review.party} {review.closed_code} closed"
    record_event(
        unit, now, actor, f"{rel.reference} {what} (ODS-{review.id})", statuses=(before, rel.status)
    )
    return f"ended: {what}", ends


def check_successor(
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
