"""A relationship's history as staff and auditors read it: each version the register has held
(what it named, from when, and what made it) and every audit event about it, the staff decisions
on review items included. Pure: no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from intake_bot.domain.records import Event, Relationship, RelationshipVersion


@dataclass(frozen=True)
class HistoryVersion:
    version: int
    effective_from: date | None
    source: str  # "LR-000123", "import register.xlsx row 7", "ODS-3 carry"...
    commissioner: str  # "NHS LEEDS NORTH CCG (02V)"
    processor: str
    recorded_at: datetime


@dataclass(frozen=True)
class HistoryEvent:
    at: datetime
    actor: str
    action: str
    note: str
    from_status: str | None = None
    to_status: str | None = None

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
    events: tuple[HistoryEvent, ...]

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
        }


def history(
    rel: Relationship, versions: Sequence[RelationshipVersion], events: Iterable[Event]
) -> RelationshipHistory:
    """`rel`'s history from its versions and the events of the requests that made them or that
    name it (deduplicated, oldest first)."""
    from intake_bot.domain.ods_views import organisation_label

    def party(values: dict[str, object], who: str) -> str:
        return organisation_label(
            str(values.get(f"{who}_name") or ""), str(values.get(f"{who}_ods") or "")
        )

    unique = {e.id if e.id is not None else id(e): e for e in events}
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
            )
            for v in sorted(versions, key=lambda v: v.version)
        ),
        tuple(
            HistoryEvent(e.at, e.actor, e.action, e.note, e.from_status, e.to_status)
            for e in sorted(unique.values(), key=lambda e: (e.at, e.id or 0))
        ),
    )


def names(note: str, reference: str) -> bool:
    """Whether an audit note names `reference` itself (LCR-000001, not LCR-0000012)."""
    return re.search(rf"(?<![\w-]){re.escape(reference)}(?![\w-])", note) is not None
