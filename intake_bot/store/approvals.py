"""Queries on s251 approvals and their reminders, inside the caller's unit (one transaction)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import or_
from sqlmodel import col, select

from intake_bot.domain.records import (
    Approval,
    ApprovalExtension,
    Outbox,
    Relationship,
    RelationshipVersion,
    ReminderSent,
    StaffAlert,
)
from intake_bot.domain.register import ENDED
from intake_bot.store.store import Unit
from intake_bot.store.tables import (
    ApprovalExtensionRow,
    ApprovalRow,
    OutboxRow,
    RelationshipRow,
    RelationshipVersionRow,
    ReminderSentRow,
)

Current = tuple[Relationship, RelationshipVersion]


def approval(unit: Unit, reference: str) -> Approval | None:
    """The approval with this canonical reference, if any."""
    return unit.get(Approval, reference)


def extensions(unit: Unit, reference: str) -> list[ApprovalExtension]:
    """Every extension of an approval, oldest first."""
    stmt = (
        select(ApprovalExtension)
        .where(ApprovalExtensionRow.reference == reference)
        .order_by(col(ApprovalExtensionRow.at), col(ApprovalExtensionRow.id))
    )
    return list(unit.session.exec(stmt))


def active_with_current(unit: Unit, today: date) -> list[Current]:
    """Every relationship in force on `today` with its current version, by reference.

    In force: not ended, and with no end date on or before today (an end is recorded ahead of
    its date, while the status still says active).
    """
    stmt = (
        select(Relationship, RelationshipVersion)
        .join(
            RelationshipVersion,
            (col(RelationshipVersionRow.relationship_id) == col(RelationshipRow.id))
            & (col(RelationshipVersionRow.version) == col(RelationshipRow.current_version)),
        )
        .where(
            col(RelationshipRow.status) != ENDED,
            or_(col(RelationshipRow.ended_on).is_(None), col(RelationshipRow.ended_on) > today),
        )
        .order_by(col(RelationshipRow.reference))
    )
    return [(rel, version) for rel, version in unit.session.exec(stmt).all()]


def reminders_sent(unit: Unit, reference: str, expiry: date) -> dict[int, set[int]]:
    """The offsets already sent for an approval's expiry date, by relationship id."""
    stmt = select(ReminderSentRow.relationship_id, ReminderSentRow.offset_days).where(
        ReminderSentRow.reference == reference, ReminderSentRow.expiry == expiry
    )
    sent: dict[int, set[int]] = defaultdict(set)
    for relationship_id, offset in unit.session.exec(stmt):
        sent[relationship_id].add(offset)
    return dict(sent)


def reminders_sent_between(
    unit: Unit, start: datetime, end: datetime
) -> list[tuple[ReminderSent, Relationship, list[str]]]:
    """Reminders recorded in [start, end), in the order sent, with their relationships and the
    addresses they were emailed to (none when there was no address to send them to)."""
    stmt = (
        select(ReminderSent, Relationship, OutboxRow.recipients)
        .join(Relationship, col(RelationshipRow.id) == col(ReminderSentRow.relationship_id))
        .outerjoin(Outbox, col(OutboxRow.id) == col(ReminderSentRow.outbox_id))
        .where(col(ReminderSentRow.sent_at) >= start, col(ReminderSentRow.sent_at) < end)
        .order_by(col(ReminderSentRow.id))
    )
    return [(sent, rel, list(to or [])) for sent, rel, to in unit.session.exec(stmt).all()]


def expired_approvals(unit: Unit, today: date) -> list[Approval]:
    """The approvals whose expiry day is today or earlier, by reference."""
    stmt = (
        select(Approval)
        .where(col(ApprovalRow.expires) <= today)
        .order_by(col(ApprovalRow.reference))
    )
    return list(unit.session.exec(stmt))


def staff_alert_sent(unit: Unit, key: str) -> bool:
    """Whether the once-only staff alert `key` was already written."""
    return unit.get(StaffAlert, key) is not None
