"""In-memory fakes of the register's repositories: reference data (organisations and s251
approvals), relationships and their versions, and the notices sent once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from intake_bot.domain.records import (
    Approval,
    ApprovalExtension,
    DigestLog,
    Organisation,
    Outbox,
    Relationship,
    RelationshipVersion,
    ReminderSent,
    Request,
    StaffAlert,
)
from intake_bot.domain.register import ENDED
from intake_bot.domain.status import Status
from intake_bot.ports import StoreError
from tests.fakes import Memory

Current = tuple[Relationship, RelationshipVersion]


class FakeReference:
    def __init__(self, memory: Memory) -> None:
        self.orgs = memory.all(Organisation)
        self.approved = memory.all(Approval)
        self.extended = memory.all(ApprovalExtension)

    def organisations(self) -> list[Organisation]:
        return sorted(self.orgs, key=lambda o: o.ods)

    def known_ods(self) -> frozenset[str]:
        return frozenset(o.ods for o in self.orgs)

    def organisation_contacts(self, ods_codes: Sequence[str]) -> set[str]:
        return {c.lower() for o in self.orgs if o.ods in ods_codes for c in o.contacts}

    def upsert_organisation(self, org: Organisation) -> None:
        self.orgs[:] = [o for o in self.orgs if o.ods != org.ods] + [org]

    def approvals(self) -> list[Approval]:
        return sorted(self.approved, key=lambda a: a.reference)

    def approval(self, reference: str) -> Approval | None:
        return next((a for a in self.approved if a.reference == reference), None)

    def count_approvals(self) -> int:
        return len(self.approved)

    def extensions(self, reference: str) -> list[ApprovalExtension]:
        return sorted((e for e in self.extended if e.reference == reference), key=lambda e: e.at)

    def expired_approvals(self, today: date) -> list[Approval]:
        return [a for a in self.approvals() if a.expires <= today]


class FakeRegister:
    def __init__(self, memory: Memory) -> None:
        self.rels = memory.all(Relationship)
        self.versions_ = memory.all(RelationshipVersion)
        self.requests = memory.all(Request)
        self.orgs = memory.all(Organisation)
        self.memory = memory

    def get(self, relationship_id: int) -> Relationship | None:
        return next((r for r in self.rels if r.id == relationship_id), None)

    def by_reference(self, reference: str) -> Relationship | None:
        return next((r for r in self.rels if r.reference == reference), None)

    def current_version(self, relationship: Relationship) -> RelationshipVersion:
        for v in self.versions_:
            if (v.relationship_id, v.version) == (relationship.id, relationship.current_version):
                return v
        raise StoreError(f"{relationship.reference} has no version {relationship.current_version}")

    def versions(self, relationship_id: int) -> list[RelationshipVersion]:
        found = [v for v in self.versions_ if v.relationship_id == relationship_id]
        return sorted(found, key=lambda v: v.version)

    def version_for_request(self, request_id: int) -> RelationshipVersion | None:
        return next((v for v in self.versions_ if v.request_id == request_id), None)

    def with_current(self) -> list[Current]:
        rels = sorted(self.rels, key=lambda r: r.reference)
        return [(r, self.current_version(r)) for r in rels]

    def active_with_current(self, today: date) -> list[Current]:
        return [
            (r, v)
            for r, v in self.with_current()
            if r.status != ENDED and (r.ended_on is None or r.ended_on > today)
        ]

    def next_reference_number(self) -> int:
        numbers = [int("".join(c for c in r.reference if c.isdigit()) or 0) for r in self.rels]
        return max(numbers, default=0) + 1

    def lock_references(self) -> None:
        return None  # one fake unit at a time

    def contacts_for(self, relationship: Relationship) -> set[str]:
        keys = ("requester_email", "authoriser_email")
        found = {
            str(v.values.get(k))
            for v in self.versions(relationship.id or 0)
            for k in keys
            if v.values.get(k)
        }
        found |= {
            r.requester_email
            for r in self.requests
            if r.relationship_id == relationship.id and r.status == Status.APPROVED.value
        }
        values = self.current_version(relationship).values
        codes = {values.get(k) for k in ("commissioner_ods", "processor_ods")}
        found |= {c for o in self.orgs if o.ods in codes for c in o.contacts}
        return {a.strip().lower() for a in found if a.strip()}


class FakeNotices:
    def __init__(self, memory: Memory) -> None:
        self.digests = memory.all(DigestLog)
        self.reminders = memory.all(ReminderSent)
        self.alerts = memory.all(StaffAlert)
        self.rels = memory.all(Relationship)
        self.outbox = memory.all(Outbox)

    def last_digest(self, office: str, up_to: date) -> DigestLog | None:
        found = [d for d in self.digests if d.office == office and d.day <= up_to]
        return max(found, key=lambda d: d.day, default=None)

    def reminders_sent(self, reference: str, expiry: date) -> dict[int, set[int]]:
        sent: dict[int, set[int]] = {}
        for r in self.reminders:
            if (r.reference, r.expiry) == (reference, expiry):
                sent.setdefault(r.relationship_id, set()).add(r.offset_days)
        return sent

    def reminders_sent_between(
        self, start: datetime, end: datetime
    ) -> list[tuple[ReminderSent, Relationship, list[str]]]:
        found = []
        for r in self.reminders:
            if start <= r.sent_at < end:
                rel = next(x for x in self.rels if x.id == r.relationship_id)
                email = next((o for o in self.outbox if o.id and o.id == r.outbox_id), None)
                found.append((r, rel, list(email.recipients) if email else []))
        return found

    def staff_alert(self, key: str) -> StaffAlert | None:
        return next((a for a in self.alerts if a.key == key), None)
