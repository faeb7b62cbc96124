"""In-memory fakes of the mail and request repositories: inbound messages, requests, the audit
trail and the outbox, each a few lines over `Memory`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from intake_bot.domain.queue_views import RequestQuery
from intake_bot.domain.records import Attachment, Event, InboundMessage, Outbox, Request
from intake_bot.ports import MessageRef, StoreError
from intake_bot.store.repositories import AUTO_REPLY_KINDS
from tests.fakes import Memory


class FakeMessages:
    def __init__(self, memory: Memory) -> None:
        self.rows = memory.all(InboundMessage)
        self.attached = memory.all(Attachment)
        self.requests = memory.all(Request)  # for retention

    def find(self, ref: MessageRef, dedupe_key: str | None = None) -> InboundMessage | None:
        at = [m for m in self.rows if (m.mailbox, m.location) == (ref.mailbox, ref.key)]
        keyed = [m for m in self.rows if dedupe_key is not None and m.dedupe_key == dedupe_key]
        return next(iter(at + keyed), None)  # the location first, as the store does

    def get(self, inbound_id: int) -> InboundMessage | None:
        return next((m for m in self.rows if m.id == inbound_id), None)

    def link_request(self, message: InboundMessage, request_id: int | None) -> None:
        if request_id is not None:
            message.request_id = request_id

    def raw(self, inbound_id: int) -> bytes:
        found = self.get(inbound_id)
        if found is None:
            raise StoreError(f"message {inbound_id} vanished")
        return found.raw

    def in_queue(self, queue: str, limit: int = 1000) -> list[InboundMessage]:
        return [m for m in self.rows if m.queue == queue and m.request_id is None][:limit]

    def replies_to(self, request_id: int) -> list[InboundMessage]:
        return [m for m in self.rows if m.request_id == request_id and m.outcome == "reply"]

    def attachments(self, inbound_id: int) -> list[Attachment]:
        return [a for a in self.attached if a.inbound_id == inbound_id]

    def purgeable(self, hold: str, closed: Sequence[str], before: datetime) -> list[int]:
        def reviewed_hold(m: InboundMessage) -> bool:
            return m.outcome == "quarantined" and m.queue is None and hold.lower() in m.note.lower()

        def all_closed(m: InboundMessage) -> bool:
            tied = [r for r in self.requests if r.inbound_id == m.id or r.id == m.request_id]
            return bool(tied) and all(r.status in closed and r.updated_at < before for r in tied)

        return [m.id for m in self.rows if m.id and m.raw and (reviewed_hold(m) or all_closed(m))]

    def outcome_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for m in self.rows:
            counts[m.outcome] = counts.get(m.outcome, 0) + 1
        return counts

    def purge(self, inbound_id: int) -> int:
        freed = 0
        for m in self.rows:
            if m.id == inbound_id:
                freed, m.raw = freed + len(m.raw), b""
        for a in self.attached:
            if a.inbound_id == inbound_id:
                freed, a.data = freed + len(a.data), b""
        return freed


def _received(r: Request) -> tuple[object, ...]:
    return (r.created_at, r.id or 0)


class FakeRequests:
    def __init__(self, memory: Memory) -> None:
        self.rows = memory.all(Request)
        self.messages = memory.all(InboundMessage)
        self.outbox = memory.all(Outbox)

    def get(self, request_id: int) -> Request | None:
        return next((r for r in self.rows if r.id == request_id), None)

    def matching(
        self,
        *,
        queue: str | None = None,
        statuses: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[Request]:
        found = [
            r
            for r in self.rows
            if (not queue or r.queue == queue) and (not statuses or r.status in statuses)
        ]
        return found[:limit]

    def for_inbound(self, inbound_id: int) -> list[Request]:
        return [r for r in self.rows if r.inbound_id == inbound_id]

    def queue_summary(
        self, open_statuses: Sequence[str], today: date
    ) -> list[tuple[str, int, int]]:
        found: dict[str, list[int]] = {}
        for r in self.rows:
            if r.status in open_statuses:
                counts = found.setdefault(r.queue, [0, 0])
                counts[0] += 1
                counts[1] += bool(r.due_on and r.due_on < today)
        return [(q, n, late) for q, (n, late) in sorted(found.items())]

    def browse(self, query: RequestQuery) -> tuple[list[Request], int]:
        def wanted(r: Request) -> bool:
            if r.status not in query.statuses or (query.queue and r.queue != query.queue):
                return False
            if query.offices is not None and r.queue.split("/")[0] not in query.offices:
                return False
            text = query.text.strip().casefold()
            haystack = " ".join([r.sender_email, str(r.commissioner_ods), str(r.values)])
            return not text or text in haystack.casefold() or f"LR-{r.id:06d}".casefold() == text

        orders = {
            "due": lambda r: (r.due_on is None, r.due_on or date.min, r.id or 0),
            "assignee": lambda r: (r.assigned_to is None, r.assigned_to or "", r.id or 0),
        }
        found = sorted(filter(wanted, self.rows), key=orders.get(query.order, _received))
        return found[query.offset : query.offset + query.limit], len(found)

    def queue_counts(self, open_statuses: Sequence[str]) -> list[tuple[str, int]]:
        counts: dict[str, int] = {}
        queues = [r.queue for r in self.rows if r.status in open_statuses]
        queues += [m.queue for m in self.messages if m.queue and m.request_id is None]
        for queue in queues:
            if queue:
                counts[queue] = counts.get(queue, 0) + 1
        return sorted(counts.items())

    def for_outgoing(self, message_ids: Sequence[str]) -> int | None:
        for row in self.outbox:
            if row.message_id not in message_ids:
                continue
            if row.request_id is not None:
                return row.request_id
            first = self.for_inbound(row.inbound_id) if row.inbound_id is not None else []
            if first:
                return first[0].id
        return None

    def naming(self, reference: str) -> list[int]:
        return sorted(
            r.id for r in self.rows if r.values.get("existing_reference") == reference and r.id
        )


class FakeEvents:
    def __init__(self, memory: Memory) -> None:
        self.rows = memory.all(Event)

    def for_(self, *, request_id: int | None = None, inbound_id: int | None = None) -> list[Event]:
        return [
            e
            for e in self.rows
            if (request_id is None or e.request_id == request_id)
            and (inbound_id is None or e.inbound_id == inbound_id)
        ]

    def mentioning(self, text: str, actions: Sequence[str]) -> list[Event]:
        return [e for e in self.rows if e.action in actions and text in e.note]


class FakeOutbox:
    def __init__(self, memory: Memory) -> None:
        self.rows = memory.all(Outbox)

    def for_(self, *, request_id: int | None = None, inbound_id: int | None = None) -> list[Outbox]:
        return [
            o
            for o in self.rows
            if (request_id is None or o.request_id == request_id)
            and (inbound_id is None or o.inbound_id == inbound_id)
        ]

    def get(self, outbox_id: int) -> Outbox | None:
        return next((o for o in self.rows if o.id == outbox_id), None)

    def emails_answered_since(
        self, recipient: str, since: datetime, *, besides: int | None = None
    ) -> int:
        besides = besides or 0
        return len(
            {
                o.inbound_id or -id(o)
                for o in self.rows
                if o.first_recipient == recipient
                and o.kind in AUTO_REPLY_KINDS
                and o.created_at >= since
                and o.inbound_id != besides
            }
        )

    def claim(self, now: datetime, lease: timedelta, limit: int) -> list[Outbox]:
        due = [
            o for o in self.rows if o.status in ("pending", "sending") and o.next_attempt_at <= now
        ]
        due.sort(key=lambda o: (o.next_attempt_at, o.id or 0))
        for row in due[:limit]:
            row.status, row.next_attempt_at = "sending", now + lease
        return due[:limit]

    def raw(self, outbox_id: int) -> bytes:
        found = self.get(outbox_id)
        if found is None:
            raise StoreError(f"outbox row {outbox_id} vanished")
        return found.raw

    def mark_sent(self, outbox_id: int, now: datetime) -> None:
        row = self.get(outbox_id)
        if row is not None:
            row.status, row.sent_at, row.last_error = "sent", now, ""

    def mark_failed(
        self, outbox_id: int, error: str, *, next_attempt_at: datetime, give_up: bool
    ) -> None:
        row = self.get(outbox_id)
        if row is not None:
            row.attempts += 1
            row.last_error = error
            row.status = "failed" if give_up else "pending"
            row.next_attempt_at = next_attempt_at

    def release_claims(self, outbox_ids: Sequence[int], now: datetime) -> None:
        for row in self.rows:
            if row.id in outbox_ids and row.status == "sending":
                row.status, row.next_attempt_at = "pending", now

    def retry_failed(self, now: datetime) -> int:
        failed = [o for o in self.rows if o.status == "failed"]
        for row in failed:
            row.status, row.next_attempt_at, row.attempts = "pending", now, 0
        return len(failed)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row.status] = counts.get(row.status, 0) + 1
        return counts

    def recent_failures(self, limit: int = 10) -> list[Outbox]:
        failed = [o for o in self.rows if o.last_error and o.status != "sent"]
        return sorted(failed, key=lambda o: o.id or 0, reverse=True)[:limit]
