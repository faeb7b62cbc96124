"""Staff queues: what is waiting, where, and for how long.

Queue names are matched as staff type them (`domain.triage.resolve_queue`): any case, an
office's aliases, with or without the kind. A name that matches no queue is an error that
lists the real ones, never an empty listing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime

from intake_bot.config import Dscro
from intake_bot.domain.legal_basis import approvals_relied_on, legal_basis_expired
from intake_bot.domain.queue_views import (
    QueueCount,
    QueueItem,
    QueueListing,
    QueuePage,
    RequestQuery,
)
from intake_bot.domain.records import Approval, InboundMessage, Request, saved_id
from intake_bot.domain.status import OPEN
from intake_bot.domain.triage import (
    KINDS,
    SHARED_QUEUES,
    Office,
    known_queues,
    message_reference,
    request_reference,
    resolve_queue,
)
from intake_bot.domain.workflow import UnknownQueueError
from intake_bot.ports import Clock, Store
from intake_bot.ports_reads import OpenQueueReads, QueueReads
from intake_bot.services.notify import type_label
from intake_bot.working_days import today_in_england

# domain.organisations.OPEN, spelt here so that `intake-bot queue` starts without that module
OPEN_REVIEW = "open"
SUMMARY_CHARS = 120  # a message's note as the queue shows it: one line


def offices_of(dscros: Sequence[Dscro]) -> tuple[Office, ...]:
    """The regional offices in the settings, as queue names know them."""
    return tuple(Office(d.name, tuple(d.aliases)) for d in dscros)


class Queues:
    """The staff queues, across every regional office."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        offices: Sequence[Dscro],
        reads: OpenQueueReads | None = None,
    ) -> None:
        self.store = store
        # What `items` reads: the store's unit, or a lighter read-only adapter (bootstrap.py).
        self.reads: OpenQueueReads = reads or store.unit
        self.clock = clock
        self.offices = offices_of(offices)

    def items(self, name: str | None = None) -> QueueListing:
        """Every open request and every message awaiting staff, oldest first in each queue.

        `name` narrows the listing to the queues it matches, as staff type it (see
        `domain.triage.resolve_queue`); one that matches none raises UnknownQueueError.
        """
        now = self.clock()
        today = today_in_england(now)
        with self.reads() as unit:
            in_use = _in_use(unit)
            wanted = self._resolve(name, in_use) if name is not None else ()
            approvals = unit.reference.approvals()
            single = wanted[0] if len(wanted) == 1 else None
            open_statuses = sorted(s.value for s in OPEN)
            items = [
                _request_item(r, now, today, approvals)
                for r in unit.requests.matching(queue=single, statuses=open_statuses)
                if not wanted or r.queue in wanted
            ]
            for queue in in_use:
                if not wanted or queue in wanted:
                    items += [_message_item(m, queue, now) for m in unit.messages.in_queue(queue)]
            # not a queue of its own, but work waiting for staff all the same
            reviews = unit.organisations.count_reviews(OPEN_REVIEW) if name is None else 0
        items.sort(key=lambda i: (i.queue, i.received, i.reference))
        return QueueListing(name, wanted, tuple(items), reviews)

    def summary(self) -> list[QueueCount]:
        """Open requests and how many are overdue, per queue (requests only; `items` of a shared
        queue gives its messages)."""
        today = today_in_england(self.clock())
        open_statuses = sorted(s.value for s in OPEN)
        with self.store.unit() as unit:
            rows = unit.requests.queue_summary(open_statuses, today)
        return [QueueCount(queue, n, late) for queue, n, late in rows]

    def messages_waiting(self) -> list[tuple[str, int, int]]:
        """(shared queue, messages waiting, of which held for patient data), without reading
        the requests at all."""
        with self.store.unit() as unit:
            found = []
            for queue in SHARED_QUEUES:
                notes = [m.note.lower() for m in unit.messages.in_queue(queue)]
                found.append((queue, len(notes), sum(n.startswith("patient data") for n in notes)))
            return found

    def browse(self, query: RequestQuery) -> QueuePage:
        """One page of open requests (`query.statuses` empty: the open ones), sorted, filtered
        and counted by the store: a page costs the same with 100 requests or 50,000."""
        now = self.clock()
        today = today_in_england(now)
        if not query.statuses:
            query = replace(query, statuses=tuple(sorted(s.value for s in OPEN)))
        with self.store.unit() as unit:
            rows, total = unit.requests.browse(query)
            approvals = unit.reference.approvals() if rows else []
            items = tuple(_request_item(r, now, today, approvals) for r in rows)
        return QueuePage(items, total, query.offset, query.limit)

    def _resolve(self, name: str, in_use: Sequence[str]) -> tuple[str, ...]:
        found = resolve_queue(name, self.offices, in_use)
        if not found:
            offices = ", ".join(o.name for o in self.offices)
            message = (
                f"no queue {name!r}: name {' or '.join(SHARED_QUEUES)}, an office ({offices}),"
                f" or an office and a kind ({', '.join(KINDS)}), e.g. north/new"
            )
            raise UnknownQueueError(name, message, known_queues(self.offices, in_use))
        return tuple(found)


def _in_use(unit: QueueReads) -> list[str]:
    """The queues that hold an open request or a message awaiting staff now."""
    open_statuses = sorted(s.value for s in OPEN)
    return [queue for queue, _count in unit.requests.queue_counts(open_statuses)]


def _request_item(r: Request, now: datetime, today: date, approvals: list[Approval]) -> QueueItem:
    name = r.values.get("commissioner_name") or "(no commissioner named)"
    ods = r.values.get("commissioner_ods") or ""
    relied = approvals_relied_on(r.values)
    return QueueItem(
        queue=r.queue,
        reference=request_reference(saved_id(r)),
        kind=type_label(r.request_type),
        status=r.status,
        summary=f"{name} {ods}".strip(),
        sender=r.sender_email,
        received=r.created_at,
        age_days=max((now - r.created_at).days, 0),
        problems=len(r.problems),
        flags=len(r.flags),
        due_on=r.due_on,
        overdue=bool(r.due_on and r.due_on < today),
        assigned_to=r.assigned_to or "",
        legal_basis_expired=tuple(legal_basis_expired(relied, approvals, today)),
    )


def _message_item(m: InboundMessage, queue: str, now: datetime) -> QueueItem:
    return QueueItem(
        queue=queue,
        reference=message_reference(saved_id(m)),
        kind=m.outcome,
        status="awaiting staff",
        summary=m.note[:SUMMARY_CHARS],
        sender=m.from_addr,
        received=m.filed_at,
        age_days=max((now - m.filed_at).days, 0),
    )
