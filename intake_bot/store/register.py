"""Queries on the register of relationships, each inside the caller's unit (one transaction)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, text
from sqlmodel import col, select

from intake_bot.domain.records import Organisation, Relationship, RelationshipVersion, Request
from intake_bot.domain.status import Status
from intake_bot.store.store import StoreError, Unit
from intake_bot.store.tables import (
    OrganisationRow,
    RelationshipRow,
    RelationshipVersionRow,
    RequestRow,
)

# Any fixed number will do: it names the one advisory lock that hands out LCR references.
_REFERENCE_LOCK = 7_041_951_613
_CONTACT_KEYS = ("requester_email", "authoriser_email")


def relationship_by_reference(unit: Unit, reference: str) -> Relationship | None:
    """The relationship with this reference ("LCR-000123"), if any."""
    stmt = select(Relationship).where(RelationshipRow.reference == reference)
    return unit.session.exec(stmt).first()


def current_version(unit: Unit, relationship: Relationship) -> RelationshipVersion:
    """The newest version of `relationship`; a relationship always has one."""
    stmt = select(RelationshipVersion).where(
        RelationshipVersionRow.relationship_id == relationship.id,
        RelationshipVersionRow.version == relationship.current_version,
    )
    found = unit.session.exec(stmt).first()
    if found is None:
        raise StoreError(f"{relationship.reference} has no version {relationship.current_version}")
    return found


def relationships_with_current(unit: Unit) -> list[tuple[Relationship, RelationshipVersion]]:
    """Every relationship with its current version, by reference, in one query."""
    stmt = (
        select(Relationship, RelationshipVersion)
        .join(
            RelationshipVersion,
            (col(RelationshipVersionRow.relationship_id) == col(RelationshipRow.id))
            & (col(RelationshipVersionRow.version) == col(RelationshipRow.current_version)),
        )
        .order_by(col(RelationshipRow.reference))
    )
    return [(rel, version) for rel, version in unit.session.exec(stmt).all()]


def next_reference_number(unit: Unit) -> int:
    """One more than the highest reference number in use (1 for an empty register).

    References are all written "LCR-" and six digits, so the highest sorts last as text.
    """
    highest = unit.session.exec(select(func.max(RelationshipRow.reference))).one()
    if not highest:
        return 1
    digits = "".join(ch for ch in highest if ch.isdigit())
    return int(digits) + 1 if digits else 1


def lock_references(unit: Unit) -> None:
    """Hold the reference counter until the transaction ends, so that two workers approving at
    once never pick the same number. SQLite lets one writer at a time, so it needs nothing."""
    if unit.is_postgres:
        unit.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _REFERENCE_LOCK})


def versions(unit: Unit, relationship_id: int) -> list[RelationshipVersion]:
    """Every version of a relationship, oldest first."""
    stmt = (
        select(RelationshipVersion)
        .where(RelationshipVersionRow.relationship_id == relationship_id)
        .order_by(col(RelationshipVersionRow.version))
    )
    return list(unit.session.exec(stmt))


def version_for_request(unit: Unit, request_id: int) -> RelationshipVersion | None:
    """The version a request made, if it made one."""
    stmt = select(RelationshipVersion).where(RelationshipVersionRow.request_id == request_id)
    return unit.session.exec(stmt).first()


def contacts_for(unit: Unit, relationship: Relationship) -> set[str]:
    """The addresses that may ask to change or end `relationship`, lower-cased.

    The requester and authoriser named in any version and in every approved request linked to
    it, and the registered contacts of the commissioner and processor in the current version.
    """
    assert relationship.id is not None
    found: set[str] = set()
    for version in versions(unit, relationship.id):
        found |= _addresses(version.values)
    requests = unit.session.exec(
        select(Request).where(
            RequestRow.relationship_id == relationship.id,
            RequestRow.status == Status.APPROVED.value,
        )
    )
    for request in requests:
        found |= _addresses({**request.values, "requester_email": request.requester_email})
    values = current_version(unit, relationship).values
    codes = {str(values[key]) for key in ("commissioner_ods", "processor_ods") if values.get(key)}
    if codes:
        orgs = unit.session.exec(select(Organisation).where(col(OrganisationRow.ods).in_(codes)))
        for org in orgs:
            found |= _clean(org.contacts)
    return found


def _addresses(values: dict[str, object]) -> set[str]:
    return _clean(values.get(key) for key in _CONTACT_KEYS)


def _clean(addresses: Iterable[object]) -> set[str]:
    return {a.strip().lower() for a in addresses if isinstance(a, str) and a.strip()}
