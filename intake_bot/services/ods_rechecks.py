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


def recheck_decided(unit: Unit, index: OrganisationIndex, now: datetime) -> list[Change]:
    """Each decided item whose closure ODS now gives otherwise, once: noted and audited."""
    changes: list[Change] = []
    for review in [*unit.organisations.reviews(CARRIED), *unit.organisations.reviews(ENDED)]:
        org = index.records.get(review.closed_code)
        if org is None or org.closed_on == review.closed_on:
            continue  # (a code the reports dropped keeps the closure it had)
        now_says = f"a close date of {uk(org.closed_on)}" if org.closed_on else "no close date"
        mark = f"ODS now gives {review.closed_code} {now_says}"
        if mark in review.note:
            continue  # told at an earlier import
        review.note = f"{review.note}; {mark}" if review.note else mark
        changes.append(_audited(unit, review, mark, now))
    return changes


def _audited(unit: Unit, review: SuccessionReview, mark: str, now: datetime) -> Change:
    note = (
        f"ODS-{review.id} {review.reference}: {review.status} on the closure of "
        f"{uk(review.closed_on)}, but {mark}: check the decision (the register is as decided)"
    )
    audit.record(unit, action=REVIEW_ACTION, at=now, note=note)
    return Change("decision to check", review.closed_code, note)
