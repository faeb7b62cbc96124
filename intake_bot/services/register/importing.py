"""Loading a register that was kept by hand into the register, all rows in one transaction.

Each row is loaded (a new relationship, keeping the row's LCR reference when it has one), merged
(a new version of the relationship it names, when its values differ), left unchanged, or refused
with every reason. A row without a reference is the relationship with the same commissioner,
processor and contract reference when there is one. A dry run writes nothing and reports the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from intake_bot.domain import values as v
from intake_bot.domain.rawform import RawValue
from intake_bot.domain.records import Relationship, RelationshipVersion
from intake_bot.domain.register import (
    changed_values,
    format_reference,
    is_active,
    merge_change,
    parse_reference,
)
from intake_bot.domain.register_view import ImportLine, ImportReport, Refusal
from intake_bot.ports import Store, Unit
from intake_bot.services.register.import_rows import (
    REFERENCE,
    Columns,
    Row,
    find_header,
    natural_key,
    parse_row,
    parties_note,
    whole_relationship_problems,
)
from intake_bot.services.register.sheets import Rows, read_table
from intake_bot.services.register.writing import (
    add_relationship,
    add_version,
    describe,
    record_event,
)
from intake_bot.working_days import today_in_england


def import_register(
    store: Store,
    path: Path,
    *,
    now: datetime,
    dry_run: bool,
    actor: str,
    dscros: Sequence[str] = (),
    office_aliases: Mapping[str, Sequence[str]] | None = None,
) -> ImportReport:
    """Load a register spreadsheet (.xlsx, or .csv); see the module docstring. `dscros` are the
    regional offices (from configuration) that the DSCRO column is matched against, by name or
    by one of `office_aliases` (office -> its other names); the office's name is stored. Raises
    RegisterError for a file that cannot be read or has no header row."""
    sheet, rows = read_table(path)
    columns, ignored = find_header(rows, path)
    outcomes = _Outcomes()
    with store.unit() as unit:
        if not dry_run:
            unit.register.lock_references()
        loader = _Loader(
            unit, outcomes, path.name, now, actor, dscros, office_aliases, write=not dry_run
        )
        loader.prepare(columns, rows)
        for number, cells in rows:
            if number > columns.header_row:
                loader.load_row(number, columns.read(cells))
        report = outcomes.report(path.name, sheet, dry_run, ignored)
        if not dry_run:
            record_event(unit, now, actor, f"register import {path.name}: {report.summary()}")
    return report


@dataclass
class _Outcomes:
    """What happened to each row so far."""

    loaded: list[ImportLine] = field(default_factory=list)
    merged: list[ImportLine] = field(default_factory=list)
    unchanged: list[ImportLine] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)

    def report(self, source: str, sheet: str, dry_run: bool, ignored: list[str]) -> ImportReport:
        return ImportReport(
            source,
            sheet,
            dry_run,
            tuple(self.loaded),
            tuple(self.merged),
            tuple(self.unchanged),
            tuple(self.refused),
            tuple(ignored),
        )


@dataclass
class _Known:
    """A relationship in the register, as the import sees it."""

    rel: Relationship
    version: RelationshipVersion


class _Loader:
    """Decides what each row does to the register, and does it unless this is a dry run."""

    def __init__(
        self,
        unit: Unit,
        outcomes: _Outcomes,
        source: str,
        now: datetime,
        actor: str,
        dscros: Sequence[str],
        office_aliases: Mapping[str, Sequence[str]] | None,
        *,
        write: bool,
    ) -> None:
        self.unit, self.outcomes, self.source = unit, outcomes, source
        self.now, self.actor, self.dscros, self.write = now, actor, dscros, write
        self.office_aliases = office_aliases
        self.today = today_in_england(now)
        self.known: dict[str, _Known] = {}
        self.by_parties: dict[tuple[str, str, str], str] = {}
        self.seen_references: dict[str, int] = {}  # reference → the first row that gave it
        self.seen_parties: dict[tuple[str, str, str], int] = {}
        self.next_number = 1

    def prepare(self, columns: Columns, rows: Rows) -> None:
        """Index the register, and keep the references the file gives free for its own rows."""
        for rel, version in self.unit.register.with_current():
            self._remember(rel, version)
        given = [columns.read(cells).get(REFERENCE) for n, cells in rows if n > columns.header_row]
        numbers = [parse_reference(raw) for raw in given if isinstance(raw, str)]
        highest_given = max((n for n in numbers if n is not None), default=0)
        self.next_number = max(self.unit.register.next_reference_number(), highest_given + 1)

    def _remember(self, rel: Relationship, version: RelationshipVersion) -> None:
        self.known[rel.reference] = _Known(rel, version)
        parties = natural_key(version.values)
        # An ended relationship is history: a row naming the same parties is a new one.
        if parties is not None and is_active(rel.ended_on, self.today):
            self.by_parties.setdefault(parties, rel.reference)

    def load_row(self, number: int, raw: dict[str, RawValue]) -> None:
        if all(v.is_blank(value) for value in raw.values()):
            return
        row = parse_row(number, raw, self.dscros, self.office_aliases)
        target = self._target(row)
        if target is None:
            self._load_new(row)
        else:
            self._merge(row, target)

    def _target(self, row: Row) -> _Known | None:
        """The relationship the row is about, noting rows that repeat an earlier one."""
        parties = row.natural_key()
        earlier = self.seen_parties.get(parties) if parties else None
        if parties is not None:
            self.seen_parties.setdefault(parties, row.number)
        if row.reference is not None:
            reference = format_reference(row.reference)
            if reference in self.seen_references:
                row.reasons.append(f"{reference} is also on row {self.seen_references[reference]}")
            self.seen_references.setdefault(reference, row.number)
            return self.known.get(reference)
        if parties is None:
            return None
        if earlier is not None:
            row.reasons.append(
                f"the same commissioner, processor and contract reference as row {earlier}"
            )
        found = self.by_parties.get(parties)
        return self.known[found] if found else None

    def _refuse(self, row: Row, reasons: list[str]) -> None:
        self.outcomes.refused.append(Refusal(row.number, row.shown_reference, tuple(reasons)))

    def _load_new(self, row: Row) -> None:
        values = merge_change({}, row.values)
        reasons = row.reasons + whole_relationship_problems(values)
        if reasons:
            self._refuse(row, reasons)
            return
        if row.reference is not None:
            reference = format_reference(row.reference)
        else:
            reference, self.next_number = format_reference(self.next_number), self.next_number + 1
        self.outcomes.loaded.append(ImportLine(row.number, reference, parties_note(values)))
        # Later rows that repeat this one are refused by _target, so the indexes need no update.
        if self.write:
            add_relationship(
                self.unit,
                reference,
                values,
                effective_from=row.effective_from,
                now=self.now,
                request_id=None,
                source=self._source(row),
            )
            note = f"{reference} created from {self._source(row)}"
            record_event(self.unit, self.now, self.actor, note)

    def _merge(self, row: Row, known: _Known) -> None:
        rel, current = known.rel, known.version
        merged = merge_change(current.values, row.values)
        reasons = row.reasons + self._merge_problems(row, known, merged)
        if reasons:
            self._refuse(row, reasons)
            return
        same_date = row.effective_from in (None, current.effective_from)
        if not changed_values(current.values, merged) and same_date:
            self.outcomes.unchanged.append(
                ImportLine(row.number, rel.reference, f"version {rel.current_version}")
            )
            return
        note = describe(current.values, merged)
        self.outcomes.merged.append(
            ImportLine(row.number, rel.reference, f"version {rel.current_version + 1}: {note}")
        )
        if self.write:
            add_version(
                self.unit,
                rel,
                merged,
                effective_from=row.effective_from or self.today,
                now=self.now,
                request_id=None,
                source=self._source(row),
            )
            message = f"{rel.reference} version {rel.current_version}: {note} ({self._source(row)})"
            record_event(self.unit, self.now, self.actor, message)

    def _merge_problems(self, row: Row, known: _Known, merged: Mapping[str, object]) -> list[str]:
        rel, current = known.rel, known.version
        reasons = whole_relationship_problems(merged)
        was, given = current.values.get("commissioner_ods"), row.values.get("commissioner_ods")
        if given and was and given != was:
            reasons.append(
                f"{rel.reference} is a relationship of {was}, not {given}; "
                "a relationship does not move to another commissioner"
            )
        changes = changed_values(current.values, merged)
        if changes and not is_active(rel.ended_on, self.today):
            reasons.append(
                f"{rel.reference} ended on {rel.ended_on:%d/%m/%Y}; "
                "an ended relationship cannot change"
            )
        return reasons

    def _source(self, row: Row) -> str:
        return f"import {self.source} row {row.number}"
