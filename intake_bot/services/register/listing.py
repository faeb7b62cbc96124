"""The register as listed and as published: every relationship with its current version, the
publication rule and the legal basis applied on a given day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from intake_bot.domain.records import Relationship, RelationshipVersion
from intake_bot.domain.register_view import RegisterRow, in_force, register_row
from intake_bot.ports import Store, Unit
from intake_bot.services.register.sheets import Format, format_of, write_register


@dataclass(frozen=True)
class Export:
    """A published register written to a file."""

    path: Path
    format: Format
    relationships: int


def register_rows(store: Store, today: date, *, published_only: bool) -> list[RegisterRow]:
    """Every relationship (or only those published on `today`), by reference, each with the
    version in force on `today`: a change decided ahead of its date (a carry to a successor
    that opens next year, an approved change from next month) shows from that date on."""
    with store.unit() as unit:
        pairs = [(rel, _on(unit, rel, v, today)) for rel, v in unit.register.with_current()]
        approvals = unit.reference.approvals()
    rows = [register_row(rel, version, today, approvals) for rel, version in pairs]
    return [row for row in rows if row.published] if published_only else rows


def _on(
    unit: Unit, rel: Relationship, newest: RelationshipVersion, today: date
) -> RelationshipVersion:
    """`rel`'s version in force on `today`; its newest when that has begun (nearly always: the
    others are read only then) or when none has (a relationship that starts later)."""
    if newest.effective_from is None or newest.effective_from <= today or newest.version == 1:
        return newest
    assert rel.id is not None
    return in_force(unit.register.versions(rel.id), today) or newest


def export_register(store: Store, today: date, path: Path, fmt: str | None = None) -> Export:
    """Write the published register (the relationships publishable on `today`, by reference) to
    `path`. Its extension (.xlsx or .csv) decides the format; a `fmt` asked for must agree with
    it. Raises RegisterError otherwise, before anything is written."""
    chosen = format_of(path, fmt)
    rows = register_rows(store, today, published_only=True)
    write_register(rows, path, chosen)
    return Export(path, chosen, len(rows))
