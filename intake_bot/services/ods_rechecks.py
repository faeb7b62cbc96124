"""Decided review items whose closure ODS has changed since: a carry or an end staff decided
on a closure ODS has withdrawn, or dated from a close date ODS has moved. The register does not
change (staff decide), but the import names each once, the audit trail keeps it, and the item's
note says what to check."""

from __future__ import annotations

from datetime import datetime

from intake_bot.domain.organisations import (
    CARRIED,
    ENDED,
    Change,
    OrganisationIndex,
    SuccessionReview,
    uk,
)
from intake_bot.ports import Unit
from intake_bot.services import audit
from intake_bot.services.ods_review_items import REVIEW_ACTION

AGREES = "decision agrees with ODS again"


def recheck_decided(unit: Unit, index: OrganisationIndex, now: datetime) -> list[Change]:
    """Each decided item whose closure ODS now gives otherwise, once: noted and audited; and,
    once, one whose closure ODS gives again as it was when staff decided."""
    changes: list[Change] = []
    for review in [*unit.organisations.reviews(CARRIED), *unit.organisations.reviews(ENDED)]:
        org = index.records.get(review.closed_code)
        if org is None:
            continue  # a code the reports dropped keeps the closure it had
        if org.closed_on == review.closed_on:
            if _last_mark(review).startswith("ODS now gives"):  # it had moved: back as decided
                mark = f"ODS again gives {review.closed_code} the close date of {uk(org.closed_on)}"
                review.note = f"{review.note}; {mark}"
                changes.append(_audited(unit, review, mark, now, agrees=True))
            continue
        now_says = f"a close date of {uk(org.closed_on)}" if org.closed_on else "no close date"
        mark = f"ODS now gives {review.closed_code} {now_says}"
        if _last_mark(review) == mark:
            continue  # told at an earlier import
        review.note = f"{review.note}; {mark}" if review.note else mark
        changes.append(_audited(unit, review, mark, now))
    return changes


def _last_mark(review: SuccessionReview) -> str:
    """What the last import to note anything on the item said of its closure, if anything."""
    parts = reversed((review.note or "").split("; "))
    return next((p for p in parts if p.startswith(("ODS now gives", "ODS again gives"))), "")


def _audited(
    unit: Unit, review: SuccessionReview, mark: str, now: datetime, *, agrees: bool = False
) -> Change:
    said = f"ODS-{review.id} {review.reference}: {review.status} on the closure of "
    said += uk(review.closed_on)
    if agrees:
        note = f"{said}, and {mark}: the decision stands as made"
    else:
        note = f"{said}, but {mark}: check the decision (the register is as decided)"
    audit.record(unit, action=REVIEW_ACTION, at=now, note=note)
    return Change(AGREES if agrees else "decision to check", review.closed_code, note)
