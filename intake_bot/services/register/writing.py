"""What the register's changes have in common: new relationships and versions, and their audit
events. Used by approved requests (apply.py) and by the import (importing.py)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from intake_bot.domain.records import Event, Relationship, RelationshipVersion, saved_id
from intake_bot.domain.register import changed_values, stored_text
from intake_bot.ports import Unit
from intake_bot.services.notify import display_value

ACTION = "register"  # the audit events of the register


def add_relationship(
    unit: Unit,
    reference: str,
    values: dict[str, object],
    *,
    effective_from: date | None,
    now: datetime,
    request_id: int | None,
    source: str,
) -> Relationship:
    """A new relationship `reference` with its first version."""
    rel = unit.add(Relationship(reference=reference, created_at=now, updated_at=now))
    _copy_parties(rel, values)
    unit.flush()
    unit.add(
        RelationshipVersion(
            relationship_id=saved_id(rel),
            version=1,
            values=values,
            effective_from=effective_from,
            request_id=request_id,
            source=source,
            created_at=now,
        )
    )
    return rel


def add_version(
    unit: Unit,
    rel: Relationship,
    values: dict[str, object],
    *,
    effective_from: date | None,
    now: datetime,
    request_id: int | None,
    source: str,
) -> None:
    """The next version of `rel`, which becomes its current one (the older ones stay)."""
    rel.current_version += 1
    rel.updated_at = now
    _copy_parties(rel, values)
    unit.add(
        RelationshipVersion(
            relationship_id=saved_id(rel),
            version=rel.current_version,
            values=values,
            effective_from=effective_from,
            request_id=request_id,
            source=source,
            created_at=now,
        )
    )


def _copy_parties(rel: Relationship, values: Mapping[str, object]) -> None:
    # Kept on the relationship itself so that queries by office or organisation need no JSON.
    rel.dscro = stored_text(values.get("dscro")) or None
    rel.commissioner_ods = stored_text(values.get("commissioner_ods")) or None
    rel.processor_ods = stored_text(values.get("processor_ods")) or None


def describe(before: Mapping[str, object], after: Mapping[str, object]) -> str:
    """What changed, for the audit trail: "processor_consent No → Yes; contract_end ..."."""
    changes = changed_values(before, after)
    if not changes:
        return "no values changed"
    return "; ".join(
        f"{c.key} {display_value(c.before) or '(blank)'} → {display_value(c.after) or '(blank)'}"
        for c in changes
    )


def record_event(
    unit: Unit,
    now: datetime,
    actor: str,
    note: str,
    *,
    request_id: int | None = None,
    statuses: tuple[str, str] | None = None,
) -> None:
    """One audit event of the register."""
    unit.add(
        Event(
            at=now,
            actor=actor,
            action=ACTION,
            request_id=request_id,
            from_status=statuses[0] if statuses else None,
            to_status=statuses[1] if statuses else None,
            note=note,
        )
    )
