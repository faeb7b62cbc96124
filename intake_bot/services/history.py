"""What staff see of the history of a request or of an archived email: the emails in and out,
their attachments and the audit trail. Read-only views, shared by `request show` and
`message show`.
"""

from __future__ import annotations

from collections.abc import Iterable

from intake_bot.domain.records import Attachment, Event, InboundMessage, Outbox, saved_id
from intake_bot.domain.triage import message_reference
from intake_bot.domain.workflow import NotFoundError
from intake_bot.domain.workflow_views import (
    AttachmentFile,
    AttachmentInfo,
    AuditEntry,
    EmailIn,
    EmailOut,
)
from intake_bot.ports import Unit


def email_in(message: InboundMessage) -> EmailIn:
    return EmailIn(
        reference=message_reference(saved_id(message)),
        sender=message.from_addr,
        subject=message.subject,
        message_id=message.message_id,
        outcome=message.outcome,
        filed_at=message.filed_at,
    )


def emails_out(rows: Iterable[Outbox]) -> tuple[EmailOut, ...]:
    return tuple(
        EmailOut(
            kind=o.kind,
            to=tuple(o.recipients),
            subject=o.subject,
            status=o.status,
            message_id=o.message_id,
            created_at=o.created_at,
            sent_at=o.sent_at,
            last_error=o.last_error,
        )
        for o in rows
    )


def attachments(rows: Iterable[Attachment]) -> tuple[AttachmentInfo, ...]:
    return tuple(
        AttachmentInfo(a.filename, a.content_type, a.size, a.outcome, a.note, a.id) for a in rows
    )


def trail(events: Iterable[Event]) -> tuple[AuditEntry, ...]:
    """The audit events in the order they happened."""
    ordered = sorted(events, key=lambda e: (e.at, e.id or 0))
    return tuple(
        AuditEntry(e.at, e.actor, e.action, e.from_status, e.to_status, e.note) for e in ordered
    )


def file_of(unit: Unit, inbound_ids: Iterable[int | None], attachment_id: int) -> AttachmentFile:
    """Attachment `attachment_id`, when it came with one of these messages; NotFoundError if not
    (an id of another request's file names nothing here)."""
    for inbound_id in inbound_ids:
        if inbound_id is None:
            continue
        for attachment in unit.messages.attachments(inbound_id):
            if attachment.id == attachment_id:
                return AttachmentFile(attachment.filename, attachment.content_type, attachment.data)
    raise NotFoundError(f"no attachment {attachment_id} here")
