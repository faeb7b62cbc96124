"""Retention: the raw mail the bot archived is purged on a schedule (DESIGN invariant 7).

Two rules, run daily by the worker and by `intake-bot retention run`:
- a message held in quarantine for patient data goes as soon as staff have reviewed it (closed
  or released it): the bytes that carried the data are kept no longer than that review needs;
- the messages of a request (the one that filed it, and replies threaded onto it) go once every
  request they carry has been closed (approved, rejected, withdrawn) for `closed_days`.
What goes is the raw message and its attachments' bytes. The inbound record (sender, subject,
size, hash, what the bot made of it), the requests and the audit trail remain, and an audit
event on each says what was purged and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice

from intake_bot.domain.records import InboundMessage, saved_id
from intake_bot.domain.retention import Purged, RetentionReport
from intake_bot.domain.status import CLOSED
from intake_bot.domain.triage import request_reference
from intake_bot.ports import Clock, Store, Unit
from intake_bot.services import audit

# What the note of a message quarantined for patient data says (intake writes it).
PATIENT_DATA_NOTE = "patient data"
PURGED = "raw_purged"  # the audit action
_CHUNK = 100  # messages purged in one transaction


@dataclass(kw_only=True)
class Retention:
    """The retention purge (`[retention]` in the settings)."""

    store: Store
    clock: Clock
    closed_days: int = 730

    def run(self, *, dry_run: bool = False) -> RetentionReport:
        """Purge what is due, a chunk of messages a transaction; with `dry_run`, only say what."""
        now = self.clock()
        before = now - timedelta(days=self.closed_days)
        closed = sorted(s.value for s in CLOSED)
        with self.store.unit() as unit:
            due = unit.messages.purgeable(PATIENT_DATA_NOTE, closed, before)
        done: list[Purged] = []
        for chunk in _chunks(due, _CHUNK):
            with self.store.unit() as unit:
                done += [p for i in chunk if (p := self._purge(unit, i, now, dry_run))]
        return RetentionReport(dry_run=dry_run, closed_before=before, purged=tuple(done))

    def _purge(self, unit: Unit, inbound_id: int, now: datetime, dry_run: bool) -> Purged | None:
        message = unit.messages.get(inbound_id)
        if message is None:  # listed a moment ago; nothing deletes messages, but be sure
            return None
        attachments = unit.messages.attachments(inbound_id)
        requests = _request_ids(unit, message)
        reason = self._reason(message)
        size = message.size + sum(a.size for a in attachments)
        if not dry_run:
            size = unit.messages.purge(inbound_id)
            note = (
                f"raw message and {len(attachments)} attachment(s) purged ({size} bytes): "
                f"{reason}; the record and its audit trail remain"
            )
            targets: list[int | None] = [*requests] or [None]  # a hold has no request
            for request_id in targets:
                audit.record(
                    unit, action=PURGED, at=now, inbound=inbound_id, request=request_id, note=note
                )
        return Purged(
            inbound_id=inbound_id,
            reason=reason,
            bytes=size,
            attachments=len(attachments),
            requests=tuple(request_reference(r) for r in requests),
        )

    def _reason(self, message: InboundMessage) -> str:
        if message.outcome == "quarantined" and PATIENT_DATA_NOTE in message.note.lower():
            return "held for patient data, reviewed by staff"
        return f"its request(s) closed more than {self.closed_days} days ago"


def _request_ids(unit: Unit, message: InboundMessage) -> list[int]:
    ids = [saved_id(r) for r in unit.requests.for_inbound(saved_id(message))]
    if message.request_id is not None and message.request_id not in ids:
        ids.append(message.request_id)  # a reply threaded onto a request
    return ids


def _chunks(ids: Sequence[int], size: int) -> list[list[int]]:
    it = iter(ids)
    out = []
    while chunk := list(islice(it, size)):
        out.append(chunk)
    return out
