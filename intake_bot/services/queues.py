"""Staff queues: what is waiting, where, and for how long."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from intake_bot.calendar import today_in_england
from intake_bot.domain.register import stored_list
from intake_bot.domain.status import OPEN
from intake_bot.domain.triage import request_reference
from intake_bot.services.notify import type_label
from intake_bot.store import approvals as approval_queries
from intake_bot.store.store import Store


@dataclass(frozen=True)
class QueueItem:
    queue: str
    reference: str  # LR-000123, or MSG-123 for a message that holds no request
    kind: str
    status: str
    summary: str  # who it is about; never message content
    sender: str
    received: str
    age_days: int
    problems: int
    flags: int
    due_on: str = ""  # dd/mm/yyyy
    overdue: bool = False
    assigned_to: str = ""
    legal_basis_expired: list[str] = field(default_factory=list)  # s251 approvals past expiry

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def queue_items(store: Store, now: datetime, queue: str | None = None) -> list[QueueItem]:
    """Every open request and every message awaiting staff, oldest first within each queue."""
    items: list[QueueItem] = []
    today = today_in_england(now)
    with store.unit() as unit:
        expired = {a.reference for a in approval_queries.expired_approvals(unit, today)}
        for r in unit.requests(queue=queue, statuses=[s.value for s in OPEN]):
            assert r.id is not None
            name = r.values.get("commissioner_name") or "(no commissioner named)"
            ods = r.values.get("commissioner_ods") or ""
            items.append(
                QueueItem(
                    queue=r.queue,
                    reference=request_reference(r.id),
                    kind=type_label(r.request_type),
                    status=r.status,
                    summary=f"{name} {ods}".strip(),
                    sender=r.sender_email,
                    received=r.created_at.strftime("%d/%m/%Y %H:%M"),
                    age_days=(now - r.created_at).days,
                    problems=len(r.problems),
                    flags=len(r.flags),
                    due_on=r.due_on.strftime("%d/%m/%Y") if r.due_on else "",
                    overdue=bool(r.due_on and r.due_on < today),
                    assigned_to=r.assigned_to or "",
                    legal_basis_expired=_lapsed(r.values, expired),
                )
            )
        queues = [queue] if queue else ["enquiries", "quarantine"]
        for q in queues:
            for m in unit.inbound_in_queue(q):
                items.append(
                    QueueItem(
                        queue=q,
                        reference=f"MSG-{m.id}",
                        kind=m.outcome,
                        status="awaiting staff",
                        summary=m.note[:120],
                        sender=m.from_addr,
                        received=m.filed_at.strftime("%d/%m/%Y %H:%M"),
                        age_days=(now - m.filed_at).days,
                        problems=0,
                        flags=0,
                    )
                )
    items.sort(key=lambda i: (i.queue, -i.age_days, i.reference))
    return items


def _lapsed(values: dict[str, Any], expired: set[str]) -> list[str]:
    return [ref for ref in stored_list(values.get("s251_references")) if ref in expired]
