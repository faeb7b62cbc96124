"""A relationship's history: its versions and the audit events about it: those of the requests
that changed it (set it up, changed or ended it), and the register's and the ODS review items'
own events on it (opened, decided, withdrawn); and those of every request naming it to change
or end it, still pending or turned down."""

from __future__ import annotations

from intake_bot.domain.register import RegisterError
from intake_bot.domain.register_history import RelationshipHistory, about, history
from intake_bot.domain.values import ValueProblem, parse_relationship_ref
from intake_bot.ports import Store
from intake_bot.services.ods_review_items import REVIEW_ACTION
from intake_bot.services.register.writing import ACTION as REGISTER_ACTION

DEFAULT_EVENTS = 500  # the newest shown; the rest counted


def relationship_history(
    store: Store, reference: str, *, limit: int = DEFAULT_EVENTS
) -> RelationshipHistory:
    """`reference`'s history (LCR-000123, or as people write it: lcr 123); RegisterError when
    the register holds no such relationship."""
    shown = reference.strip()[:40]
    try:
        wanted = parse_relationship_ref(reference.strip()[:100])
    except ValueProblem:
        raise RegisterError(f"{shown}: not a relationship reference (LCR-000123)") from None
    with store.unit() as unit:
        rel = unit.register.by_reference(wanted)
        if rel is None or rel.id is None:
            raise RegisterError(f"{shown}: no such relationship in the register")
        versions = unit.register.versions(rel.id)
        # its own events: a note written about it, never one that merely quotes its reference
        own = [
            e
            for e in unit.events.mentioning(rel.reference, (REGISTER_ACTION, REVIEW_ACTION))
            if about(e.note, rel.reference)
        ]
        # and every request naming it to change or end, pending or turned down included
        named = unit.requests.naming(rel.reference)
        requests = {v.request_id for v in versions} | {e.request_id for e in own} | set(named)
        ids = sorted(i for i in requests if i)
        events = [e for r in ids for e in unit.events.for_(request_id=r)]
        # each request's queue: the console shows its events to that office's staff only
        queues = {r: found.queue for r in ids if (found := unit.requests.get(r)) is not None}
    return history(rel, versions, [*events, *own], limit=limit, queues=queues)
