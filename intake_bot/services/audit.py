"""The one writer of the audit trail (DESIGN invariant 6: who, when, from what, to what, why).

Every service records its events through `record`: no service builds an `Event` itself, so
that every event is shaped the same way and none is cut short (the store fits long notes to
their column, once).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from intake_bot.domain.records import Event, InboundMessage, Outbox, Request

BOT = "intake-bot"  # the actor of everything the bot does by itself

_Record = Request | InboundMessage | Outbox


class _Adds(Protocol):
    """The part of a unit of work that `record` uses (`ports.Unit` has it)."""

    def add(self, record: Event) -> Event: ...

    def flush(self) -> None: ...


def record(
    unit: _Adds,
    *,
    action: str,
    at: datetime,
    actor: str = BOT,
    request: Request | int | None = None,
    inbound: InboundMessage | int | None = None,
    outbox: Outbox | int | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    note: str = "",
) -> Event:
    """Add one audit event to `unit`, written when the unit commits.

    `request`, `inbound` and `outbox` take a record or its id; a record not yet flushed is
    flushed first, so that the event always points at it. A status change gives `from_status`
    and `to_status` (a `Status` or its value). An empty `actor` is the bot itself.
    """
    return unit.add(
        Event(
            at=at,
            actor=actor or BOT,
            action=action,
            request_id=_id(unit, request),
            inbound_id=_id(unit, inbound),
            outbox_id=_id(unit, outbox),
            from_status=str(from_status) if from_status is not None else None,
            to_status=str(to_status) if to_status is not None else None,
            note=note,
        )
    )


def _id(unit: _Adds, target: _Record | int | None) -> int | None:
    if target is None or isinstance(target, int):
        return target
    if target.id is None:
        unit.flush()
    return target.id
