"""The SQL repositories for the register, its reference data (organisations and s251
approvals) and the notices sent once (digests, reminders, staff alerts)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import func, or_, text
from sqlmodel import Session, col, select

from intake_bot.domain.records import (
    Approval,
    ApprovalExtension,
    DigestLog,
    Organisation,
    Relationship,
    RelationshipVersion,
    ReminderSent,
    Request,
    StaffAlert,
)
from intake_bot.domain.register import ENDED
from intake_bot.domain.status import Status
from intake_bot.ports import StoreError
from intake_bot.store.tables import (
    ApprovalExtensionRow,
    ApprovalRow,
    DigestLogRow,
    OrganisationRow,
    OutboxRow,
    RelationshipRow,
    RelationshipVersionRow,
    ReminderSentRow,
    RequestRow,
)

# Any fixed number will do: it names the one advisory lock that hands out LCR references.
_REFERENCE_LOCK = 7_041_951_613
_CONTACT_KEYS = ("requester_email", "authoriser_email")

Current = tuple[Relationship, RelationshipVersion]


class _Repository:
    def __init__(self, session: Session, is_postgres: bool) -> None:
        self.session = session
        self.is_postgres = is_postgres


class SqlReference(_Repository):
    def organisations(self) -> list[Organisation]:
        return list(self.session.exec(select(Organisation).order_by(col(OrganisationRow.ods))))

    def known_ods(self) -> frozenset[str]:
        return frozenset(self.session.exec(select(OrganisationRow.ods)).all())

    def organisation_contacts(self, ods_codes: Sequence[str]) -> set[str]:
        stmt = select(Organisation).where(col(OrganisationRow.ods).in_(list(ods_codes)))
        return {c.lower() for org in self.session.exec(stmt) for c in org.contacts}

    def upsert_organisation(self, org: Organisation) -> None:
        self.session.merge(org)

    def approvals(self) -> list[Approval]:
        return list(self.session.exec(select(Approval).order_by(col(ApprovalRow.reference))))

    def approval(self, reference: str) -> Approval | None:
        return self.session.get(Approval, reference)

    def count_approvals(self) -> int:
        return int(self.session.exec(select(func.count()).select_from(ApprovalRow)).one())

    def extensions(self, reference: str) -> list[ApprovalExtension]:
        stmt = (
            select(ApprovalExtension)
            .where(col(ApprovalExtensionRow.reference) == reference)
            .order_by(col(ApprovalExtensionRow.at), col(ApprovalExtensionRow.id))
        )
        return list(self.session.exec(stmt))

    def expired_approvals(self, today: date) -> list[Approval]:
        stmt = (
            select(Approval)
            .where(col(ApprovalRow.expires) <= today)
            .order_by(col(ApprovalRow.reference))
        )
        return list(self.session.exec(stmt))


class SqlRegister(_Repository):
    def get(self, relationship_id: int) -> Relationship | None:
        return self.session.get(Relationship, relationship_id)

    def by_reference(self, reference: str) -> Relationship | None:
        stmt = select(Relationship).where(col(RelationshipRow.reference) == reference)
        return self.session.exec(stmt).first()

    def current_version(self, relationship: Relationship) -> RelationshipVersion:
        stmt = select(RelationshipVersion).where(
            col(RelationshipVersionRow.relationship_id) == relationship.id,
            col(RelationshipVersionRow.version) == relationship.current_version,
        )
        found = self.session.exec(stmt).first()
        if found is None:
            raise StoreError(
                f"{relationship.reference} has no version {relationship.current_version}"
            )
        return found

    def versions(self, relationship_id: int) -> list[RelationshipVersion]:
        stmt = (
            select(RelationshipVersion)
            .where(col(RelationshipVersionRow.relationship_id) == relationship_id)
            .order_by(col(RelationshipVersionRow.version))
        )
        return list(self.session.exec(stmt))

    def version_for_request(self, request_id: int) -> RelationshipVersion | None:
        stmt = select(RelationshipVersion).where(
            col(RelationshipVersionRow.request_id) == request_id
        )
        return self.session.exec(stmt).first()

    def with_current(self) -> list[Current]:
        return self._current()

    def active_with_current(self, today: date) -> list[Current]:
        # In force: not ended, and no end date on or before today (an end is recorded ahead
        # of its date, while the status still says active).
        return self._current(
            col(RelationshipRow.status) != ENDED,
            or_(col(RelationshipRow.ended_on).is_(None), col(RelationshipRow.ended_on) > today),
        )

    def _current(self, *where: object) -> list[Current]:
        stmt = (
            select(Relationship, RelationshipVersion)
            .join(
                RelationshipVersion,
                (col(RelationshipVersionRow.relationship_id) == col(RelationshipRow.id))
                & (col(RelationshipVersionRow.version) == col(RelationshipRow.current_version)),
            )
            .where(*where)  # type: ignore[arg-type]
            .order_by(col(RelationshipRow.reference))
        )
        return [(rel, version) for rel, version in self.session.exec(stmt).all()]

    def next_reference_number(self) -> int:
        # References are all "LCR-" and six digits, so the highest sorts last as text.
        highest = self.session.exec(select(func.max(RelationshipRow.reference))).one()
        if not highest:
            return 1
        digits = "".join(ch for ch in highest if ch.isdigit())
        return int(digits) + 1 if digits else 1

    def lock_references(self) -> None:
        # SQLite lets one writer at a time, so it needs nothing.
        if self.is_postgres:
            self.session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _REFERENCE_LOCK}
            )

    def contacts_for(self, relationship: Relationship) -> set[str]:
        # The requester and authoriser named in any version and in every approved request
        # linked to it, and the registered contacts of the organisations in the current one.
        assert relationship.id is not None
        found: set[str] = set()
        for version in self.versions(relationship.id):
            found |= _addresses(version.values)
        requests = self.session.exec(
            select(Request).where(
                col(RequestRow.relationship_id) == relationship.id,
                col(RequestRow.status) == Status.APPROVED.value,
            )
        )
        for request in requests:
            found |= _addresses({**request.values, "requester_email": request.requester_email})
        values = self.current_version(relationship).values
        codes = {str(values[k]) for k in ("commissioner_ods", "processor_ods") if values.get(k)}
        if codes:
            orgs = self.session.exec(
                select(Organisation).where(col(OrganisationRow.ods).in_(codes))
            )
            for org in orgs:
                found |= _clean(org.contacts)
        return found


class SqlNotices(_Repository):
    def last_digest(self, office: str, up_to: date) -> DigestLog | None:
        stmt = (
            select(DigestLog)
            .where(col(DigestLogRow.office) == office, col(DigestLogRow.day) <= up_to)
            .order_by(col(DigestLogRow.day).desc())
            .limit(1)
        )
        return self.session.exec(stmt).first()

    def reminders_sent(self, reference: str, expiry: date) -> dict[int, set[int]]:
        stmt = select(ReminderSentRow.relationship_id, ReminderSentRow.offset_days).where(
            col(ReminderSentRow.reference) == reference, col(ReminderSentRow.expiry) == expiry
        )
        sent: dict[int, set[int]] = defaultdict(set)
        for relationship_id, offset in self.session.exec(stmt):
            sent[relationship_id].add(offset)
        return dict(sent)

    def reminders_sent_between(
        self, start: datetime, end: datetime
    ) -> list[tuple[ReminderSent, Relationship, list[str]]]:
        stmt = (
            select(ReminderSent, Relationship, OutboxRow.recipients)
            .join(Relationship, col(RelationshipRow.id) == col(ReminderSentRow.relationship_id))
            .outerjoin(OutboxRow, col(OutboxRow.id) == col(ReminderSentRow.outbox_id))
            .where(col(ReminderSentRow.sent_at) >= start, col(ReminderSentRow.sent_at) < end)
            .order_by(col(ReminderSentRow.id))
        )
        return [(s, rel, list(to or [])) for s, rel, to in self.session.exec(stmt).all()]

    def staff_alert(self, key: str) -> StaffAlert | None:
        return self.session.get(StaffAlert, key)


def _addresses(values: dict[str, object]) -> set[str]:
    return _clean(values.get(key) for key in _CONTACT_KEYS)


def _clean(addresses: Iterable[object]) -> set[str]:
    return {a.strip().lower() for a in addresses if isinstance(a, str) and a.strip()}
