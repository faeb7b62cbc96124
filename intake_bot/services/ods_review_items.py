"""Succession review items as staff and the emails show them: each item with its
relationship's office, the names ODS gives its codes, and the day a decision takes effect."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from intake_bot.domain.ods_views import ReviewItem, decision_day
from intake_bot.domain.organisations import OPEN, OrganisationIndex, SuccessionReview
from intake_bot.domain.records import Relationship, RelationshipVersion, saved_id
from intake_bot.domain.register_view import terms_on
from intake_bot.domain.staff import sees_office
from intake_bot.ports import Unit

REVIEW_ACTION = "ods_review"  # the audit trail's action for every step of a review item


def organisation_index(unit: Unit) -> OrganisationIndex:
    return OrganisationIndex((), unit.organisations.all(), unit.organisations.successions())


def review_items(
    unit: Unit, status: str | None, today: date, offices: Sequence[str] | None = None
) -> list[ReviewItem]:
    """The items in `status` (None: all), of `offices` only when given."""
    index = organisation_index(unit)
    items = (
        review_item(unit, review, index, unit.register.get(review.relationship_id), today)
        for review in unit.organisations.reviews(status)
    )
    return [i for i in items if offices is None or sees_office(offices, i.dscro or None)]


def in_offices(
    unit: Unit, review_id: int, offices: Sequence[str] | None
) -> SuccessionReview | None:
    """The item, unless it is another office's (its relationship's office) than `offices`."""
    review = unit.organisations.review(review_id)
    if review is None or offices is None:
        return review
    rel = unit.register.get(review.relationship_id)
    return review if rel is not None and sees_office(offices, rel.dscro) else None


def review_item(
    unit: Unit,
    review: SuccessionReview,
    index: OrganisationIndex,
    rel: Relationship | None,
    today: date,
) -> ReviewItem:
    closed = index.records.get(review.closed_code)
    began = in_force_from(unit, rel, review.closed_on) if rel else None
    return ReviewItem(
        id=saved_id(review),
        reference=review.reference,
        party=review.party,
        closed_code=review.closed_code,
        closed_name=closed.name if closed else "",
        closed_on=review.closed_on,
        closed_already=review.closed_on is not None and review.closed_on < today,
        successors=tuple((c, org_name(index, c)) for c in review.successors),
        status=review.status,
        dscro=(rel.dscro or "") if rel else "",
        decided_by=review.decided_by,
        decided_at=review.decided_at,
        note=review.note,
        in_force_from=began,
        contacts_told=review.notice_message_id is not None,
        carried_to=(
            (review.carried_to, org_name(index, review.carried_to)) if review.carried_to else None
        ),
        effective_on=review.effective_on,
        steps=tuple(
            code
            for code in index.direct_successors(review.closed_code)
            if review.status == OPEN and code not in review.successors
        ),
    )


def in_force_from(
    unit: Unit,
    rel: Relationship,
    closed_on: date | None,
    versions: Sequence[RelationshipVersion] | None = None,
) -> date | None:
    """When the terms that a decision on a closure on `closed_on` applies to began: those in
    force the day after it (or the first, for terms that all begin later)."""
    if closed_on is None:
        return unit.register.current_version(rel).effective_from
    found = unit.register.versions(saved_id(rel)) if versions is None else versions
    terms = terms_on(found, closed_on + timedelta(days=1))
    return terms.effective_from if terms else None


def org_name(index: OrganisationIndex, code: str) -> str:
    org = index.records.get(code)
    return org.name if org else ""


def decided_from(
    unit: Unit,
    rel: Relationship,
    closed_on: date | None,
    versions: Sequence[RelationshipVersion] | None = None,
) -> date | None:
    """The day a decision on `closed_on`'s closure takes effect: the day after it, or when the
    terms then in force began (never a version dated later, whichever item is decided first)."""
    return decision_day(closed_on, in_force_from(unit, rel, closed_on, versions))
