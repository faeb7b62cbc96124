"""A relationship's history: its versions and the audit events about it (the requests that made
its versions, the review items on its organisations and the staff decisions on them)."""

from __future__ import annotations

from intake_bot.domain.register import RegisterError
from intake_bot.domain.register_history import RelationshipHistory, history, names
from intake_bot.ports import Store


def relationship_history(store: Store, reference: str) -> RelationshipHistory:
    """`reference`'s history; RegisterError when the register holds no such relationship."""
    wanted = reference.strip().upper()
    with store.unit() as unit:
        rel = unit.register.by_reference(wanted)
        if rel is None or rel.id is None:
            raise RegisterError(f"{reference.strip()[:40]}: no such relationship in the register")
        versions = unit.register.versions(rel.id)
        requests = {v.request_id for v in versions if v.request_id is not None}
        events = [e for r in sorted(requests) for e in unit.events.for_(request_id=r)]
        events += [e for e in unit.events.mentioning(rel.reference) if names(e.note, rel.reference)]
    return history(rel, versions, events)
