"""Which message this is, and keeping it: dedupe keys, Message-ID collisions, the archive.

A copy of a message already filed is recognised by its mailbox location, or by its Message-ID
together with the hash of its bytes (DESIGN invariant 1): a Message-ID alone never makes a
message a duplicate. The first message filed with a Message-ID is keyed on it; a later one
with the same Message-ID but other bytes is a collision: it is filed under
"<Message-ID> sha256:<hash>" (so that its own replays are still recognised) and flagged.
Used inside intake's one transaction: nothing here commits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from intake_bot.domain.records import Attachment, InboundMessage, saved_id
from intake_bot.domain.triage import message_reference
from intake_bot.forms.readings import FileReading, ParsedMessage
from intake_bot.ports import MessageRef, Unit
from intake_bot.services import audit

MAX_KEY = 998  # a header line's length (RFC 5322); the column holds 1000


def dedupe_key(message_id: str | None, raw: bytes) -> str:
    """How a copy of a message is recognised: its Message-ID, or the hash of its bytes when it
    has none. A Message-ID longer than a header line may be (RFC 5322: 998) is hashed too, so
    that the key is looked up exactly as it was stored."""
    key = (message_id or "").strip()
    if not key.strip("<> "):
        return "sha256:" + hashlib.sha256(raw).hexdigest()
    return key if len(key) <= MAX_KEY else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def collision_key(message_id: str | None, digest: str) -> str:
    """The key of a message whose Message-ID an earlier message with other bytes holds."""
    key = f"{(message_id or '').strip()} sha256:{digest}"
    return key if len(key) <= MAX_KEY else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Identity:
    """What the store already knows of a message about to be filed."""

    key: str  # the dedupe key to file it under
    duplicate: InboundMessage | None = None  # filed before: file nothing
    collided: InboundMessage | None = None  # another message filed with its Message-ID


def identify(
    unit: Unit, ref: MessageRef, message_id: str | None, raw: bytes, digest: str
) -> Identity:
    """Whether the message at `ref` was filed before, or collides with one that was."""
    key = dedupe_key(message_id, raw)
    existing = unit.messages.find(ref, key)
    if existing is None:
        return Identity(key)
    same_place = (existing.mailbox, existing.location) == (ref.mailbox, ref.key)
    if same_place or existing.sha256 == digest:
        return Identity(key, duplicate=existing)
    other = collision_key(message_id, digest)
    again = unit.messages.find(ref, other)
    if again is not None:
        return Identity(other, duplicate=again)
    return Identity(other, collided=existing)


def archive(
    unit: Unit,
    raw: bytes,
    ref: MessageRef,
    key: str,
    msg: ParsedMessage | None,
    *,
    digest: str,
    filed_at: datetime,
    outcome: str,
    queue: str | None,
    note: str,
) -> InboundMessage:
    """Keep the whole message, with what became of it; flushed, so that it has its id."""
    inbound = unit.add(
        InboundMessage(
            dedupe_key=key,
            mailbox=ref.mailbox,
            location=ref.key,
            message_id=msg.message_id if msg else None,
            sha256=digest,
            size=len(raw),
            raw=raw,
            from_addr=msg.from_addr if msg else "",
            from_name=msg.from_name if msg else "",
            subject=msg.subject if msg else "",
            sent_at=msg.date if msg else None,
            filed_at=filed_at,
            outcome=outcome,
            queue=queue,
            note=note,
        )
    )
    unit.flush()
    return inbound


def store_attachments(
    unit: Unit, inbound_id: int, msg: ParsedMessage, readings: Sequence[FileReading]
) -> dict[int, int]:
    """Keep every attachment with what reading it gave; attachment index → its id."""
    staged: list[tuple[int, Attachment]] = []
    for index, (att, reading) in enumerate(zip(msg.attachments, readings, strict=True)):
        if reading.forms:
            outcome, note = "form", f"{len(reading.forms)} form(s)"
        elif reading.rejection is not None:
            outcome, note = "rejected", reading.rejection.reason
        else:
            outcome, note = "ignored", ""
        attachment = Attachment(
            inbound_id=inbound_id,
            filename=att.filename,
            content_type=att.content_type,
            size=len(att.data),
            sha256=hashlib.sha256(att.data).hexdigest(),
            data=att.data,
            outcome=outcome,
            note=note,
        )
        staged.append((index, unit.add(attachment)))
    if staged:
        unit.flush()  # one flush for every attachment: their ids, for the requests
    return {index: saved_id(a) for index, a in staged}


def note_collision(
    unit: Unit, inbound: InboundMessage, earlier: InboundMessage, now: datetime
) -> None:
    """Say on a colliding message, and in the audit trail, which message had its Message-ID."""
    note = (
        f"its Message-ID was filed before as {message_reference(saved_id(earlier))} with "
        "different content: filed as a message of its own"
    )
    inbound.note = f"{inbound.note}; {note}" if inbound.note else note
    audit.record(unit, action="message_id_collision", at=now, inbound=inbound, note=note)


def flag_collision(unit: Unit, inbound: InboundMessage, earlier: InboundMessage) -> None:
    """Flag for staff every request filed from a colliding message, or the one it replies to."""
    flag = {
        "field": None,
        "message": f"another message was filed before with this email's Message-ID "
        f"({message_reference(saved_id(earlier))}): check that this is not a copy",
    }
    requests = unit.requests.for_inbound(saved_id(inbound))
    thread = unit.requests.get(inbound.request_id) if inbound.request_id else None
    for request in [*requests, *([thread] if thread and thread not in requests else [])]:
        request.flags = [*request.flags, flag]
