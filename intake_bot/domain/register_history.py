"""A relationship's history as staff and auditors read it: each version the register has held
(what it named, from when, and what made it) and every audit event about it, the staff decisions
on review items included. Pure: no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from intake_bot.domain.ods_views import organisation_label
from intake_bot.domain.records import Event, Relationship, RelationshipVersion
from intake_bot.domain.triage import request_reference


@dataclass(frozen=True)
class HistoryVersion:
    version: int
    effective_from: date | None
    source: str  # "LR-000123", "import register.xlsx row 7", "ODS-3 carry"...
    commissioner: str  # "NHS LEEDS NORTH CCG (02V)"
    processor: str
    recorded_at: datetime
    office: str = ""  # the regional office it named
    queue: str = ""  # the queue of the request that made it, if a request did


@dataclass(frozen=True)
class HistoryEvent:
    at: datetime
    actor: str
    action: str
    note: str
    from_status: str | None = None
    to_status: str | None = None
    request: str = ""  # the request it is about, LR-000123, if any
    queue: str = ""  # that request's queue ("north/change"): whose staff may read the event

    @property
    def what(self) -> str:
        """ "status: received → triaged", or the action alone."""
        if self.to_status is None:
            return self.action
        return f"{self.action}: {self.from_status or '—'} → {self.to_status}"


@dataclass(frozen=True)
class RelationshipHistory:
    reference: str
    status: str
    ended_on: date | None
    versions: tuple[HistoryVersion, ...]
    events: tuple[HistoryEvent, ...]  # the newest, oldest first
    earlier_events: int = 0  # how many older ones are not in `events`
    # The regional offices it has had (each version's, and the newest): whose staff may read
    # it in the console. A change may move it to another office from a later day.
    offices: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "reference": self.reference,
            "status": self.status,
            "ended_on": self.ended_on.isoformat() if self.ended_on else None,
            "versions": [
                {
                    **v.__dict__,
                    "effective_from": v.effective_from.isoformat() if v.effective_from else None,
                    "recorded_at": v.recorded_at.isoformat(),
                }
                for v in self.versions
            ],
            "events": [{**e.__dict__, "at": e.at.isoformat()} for e in self.events],
            "earlier_events": self.earlier_events,
            "offices": list(self.offices),
        }


def history(
    rel: Relationship,
    versions: Sequence[RelationshipVersion],
    events: Iterable[Event],
    *,
    limit: int,
    queues: Mapping[int, str] | None = None,
) -> RelationshipHistory:
    """`rel`'s history from its versions and the events about it (deduplicated, oldest first;
    the newest `limit` of them). `queues`: each request's queue, by id."""
    queues = queues or {}
    offices = [str(v.values.get("dscro") or "") for v in versions] + [rel.dscro or ""]

    def party(values: dict[str, object], who: str) -> str:
        return organisation_label(
            str(values.get(f"{who}_name") or ""), str(values.get(f"{who}_ods") or "")
        )

    unique = {e.id if e.id is not None else id(e): e for e in events}
    ordered = sorted(unique.values(), key=lambda e: (e.at, e.id or 0))
    kept = ordered[-limit:] if limit > 0 else []
    return RelationshipHistory(
        rel.reference,
        rel.status,
        rel.ended_on,
        tuple(
            HistoryVersion(
                v.version,
                v.effective_from,
                v.source,
                party(v.values, "commissioner"),
                party(v.values, "processor"),
                v.created_at,
                str(v.values.get("dscro") or ""),
                queues.get(v.request_id, "") if v.request_id else "",
            )
            for v in sorted(versions, key=lambda v: v.version)
        ),
        tuple(
            HistoryEvent(
                *(e.at, e.actor, e.action, e.note, e.from_status, e.to_status),
                request_reference(e.request_id) if e.request_id else "",
                queues.get(e.request_id, "") if e.request_id else "",
            )
            for e in kept
        ),
        len(ordered) - len(kept),
        tuple(dict.fromkeys(o for o in offices if o)),
    )


def about(note: str, reference: str) -> bool:
    """Whether a register or review event's note is about `reference`: it begins with it
    ("LCR-000001 ends on…", "ODS-3 LCR-000001: carried over…"), not merely quotes it in a
    note staff wrote."""
    return re.match(rf"(?:ODS-\d+ )?{re.escape(reference)}(?![\w-])", note) is not None
