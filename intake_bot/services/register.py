"""The register of relationships: approved requests applied to it, the published spreadsheet, and
loading a register that was kept by hand.

An approved *new* request creates a relationship (LCR-000123), a *change* adds a version (the
history stays), an *end* ends it on its effective date. Every change is an audit event.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from typing import Any, Literal, NamedTuple

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from intake_bot.calendar import today_in_england
from intake_bot.domain import values as v
from intake_bot.domain.approvals import parse_cag_refs
from intake_bot.domain.fields import FIELDS_BY_KEY, Field, Kind, field_for_label, normalise_label
from intake_bot.domain.rawform import RawValue
from intake_bot.domain.register import (
    ENDED,
    EXPORT_COLUMNS,
    RELATIONSHIP_KEYS,
    changed_values,
    format_reference,
    is_active,
    merge_change,
    parse_reference,
    publishable,
    relationship_values,
    status_on,
    stored_date,
    stored_list,
    stored_text,
)
from intake_bot.domain.triage import request_reference
from intake_bot.domain.validation import Problem
from intake_bot.services.notify import display_value
from intake_bot.store import approvals as approval_queries
from intake_bot.store import register as queries
from intake_bot.store.store import Store, Unit
from intake_bot.domain.records import Event, Relationship, RelationshipVersion, Request

# Dates on forms and in the register are dates in England.
ACTION = "register"
Format = Literal["xlsx", "csv"]


class RegisterError(Exception):
    """The register cannot change as asked; the message tells staff why."""


# --- approved requests --------------------------------------------------------------------------


def apply_approved_request(
    unit: Unit, request: Request, *, now: datetime, actor: str
) -> Relationship:
    """Make an approved request's change to the register, inside the caller's transaction.

    New: a relationship with the next LCR reference and its first version. Change: a new version of
    the relationship the request names. End: the relationship ends on the effective date. Applying
    the same request twice changes nothing the second time. Raises RegisterError when the request
    names no relationship in force, or is of no kind that changes the register.
    """
    if request.id is None:
        unit.flush()
    assert request.id is not None
    done = queries.version_for_request(unit, request.id)
    if done is not None:  # applied before (a retried approval)
        return _relationship(unit, done.relationship_id)
    if request.request_type == "new":
        return _create_from(unit, request, now, actor)
    if request.request_type == "change":
        return _change_from(unit, request, now, actor)
    if request.request_type == "end":
        return _end_from(unit, request, now, actor)
    raise RegisterError(
        f"{request_reference(request.id)} is not a new, change or end request; "
        "the register was not changed"
    )


def _create_from(unit: Unit, request: Request, now: datetime, actor: str) -> Relationship:
    assert request.id is not None
    queries.lock_references(unit)
    reference = format_reference(queries.next_reference_number(unit))
    rel = _add_relationship(
        unit,
        reference,
        relationship_values(request.values),
        effective_from=stored_date(request.values.get("effective_date")),
        now=now,
        request_id=request.id,
        source=request_reference(request.id),
    )
    request.relationship_id = rel.id
    _event(unit, now, actor, f"{reference} created", request_id=request.id)
    return rel


def _change_from(unit: Unit, request: Request, now: datetime, actor: str) -> Relationship:
    assert request.id is not None
    rel = _named_relationship(unit, request, today_in_england(now))
    current = queries.current_version(unit, rel)
    merged = merge_change(current.values, request.values)
    _add_version(
        unit,
        rel,
        merged,
        effective_from=stored_date(request.values.get("effective_date")),
        now=now,
        request_id=request.id,
        source=request_reference(request.id),
    )
    request.relationship_id = rel.id
    note = f"{rel.reference} version {rel.current_version}: {_describe(current.values, merged)}"
    _event(unit, now, actor, note, request_id=request.id)
    return rel


def _end_from(unit: Unit, request: Request, now: datetime, actor: str) -> Relationship:
    assert request.id is not None
    ref = request_reference(request.id)
    ends = stored_date(request.values.get("effective_date"))
    if ends is None:
        raise RegisterError(f"{ref} gives no date for the end; the register was not changed")
    today = today_in_england(now)
    rel = _relationship_named_by(unit, request)
    request.relationship_id = rel.id
    if rel.ended_on == ends:  # applied before
        return rel
    if not is_active(rel.ended_on, today):
        raise RegisterError(f"{rel.reference} already ended on {rel.ended_on:%d/%m/%Y}")
    before = status_on(rel.ended_on, today)
    rel.ended_on, rel.updated_at = ends, now
    rel.status = status_on(ends, today)
    verb = "ended" if rel.status == ENDED else "ends"
    _event(
        unit,
        now,
        actor,
        f"{rel.reference} {verb} on {ends:%d/%m/%Y}",
        request_id=request.id,
        statuses=(before, rel.status),
    )
    return rel


def _named_relationship(unit: Unit, request: Request, today: date) -> Relationship:
    """The relationship a change request names, which must be in force."""
    rel = _relationship_named_by(unit, request)
    if not is_active(rel.ended_on, today):
        raise RegisterError(
            f"{rel.reference} ended on {rel.ended_on:%d/%m/%Y}; an ended relationship cannot change"
        )
    return rel


def _relationship_named_by(unit: Unit, request: Request) -> Relationship:
    assert request.id is not None
    named = str(request.values.get("existing_reference") or "")
    number = parse_reference(named)
    rel = queries.relationship_by_reference(unit, format_reference(number)) if number else None
    if rel is None:
        shown = f'"{named}"' if named else "no relationship reference"
        raise RegisterError(
            f"{request_reference(request.id)} names {shown}, which is not in the register"
        )
    return rel


def _relationship(unit: Unit, relationship_id: int) -> Relationship:
    rel = unit.get(Relationship, relationship_id)
    assert rel is not None  # a version's relationship (a foreign key)
    return rel


# --- writing relationships and versions ---------------------------------------------------------


def _add_relationship(
    unit: Unit,
    reference: str,
    values: dict[str, object],
    *,
    effective_from: date | None,
    now: datetime,
    request_id: int | None,
    source: str,
) -> Relationship:
    rel = unit.add(Relationship(reference=reference, created_at=now, updated_at=now))
    _copy_parties(rel, values)
    unit.flush()
    assert rel.id is not None
    unit.add(
        RelationshipVersion(
            relationship_id=rel.id,
            version=1,
            values=values,
            effective_from=effective_from,
            request_id=request_id,
            source=source[:500],
            created_at=now,
        )
    )
    return rel


def _add_version(
    unit: Unit,
    rel: Relationship,
    values: dict[str, object],
    *,
    effective_from: date | None,
    now: datetime,
    request_id: int | None,
    source: str,
) -> None:
    assert rel.id is not None
    rel.current_version += 1
    rel.updated_at = now
    _copy_parties(rel, values)
    unit.add(
        RelationshipVersion(
            relationship_id=rel.id,
            version=rel.current_version,
            values=values,
            effective_from=effective_from,
            request_id=request_id,
            source=source[:500],
            created_at=now,
        )
    )


def _copy_parties(rel: Relationship, values: Mapping[str, object]) -> None:
    # Kept on the relationship row so that queries by office or organisation need no JSON.
    rel.dscro = stored_text(values.get("dscro"))[:200] or None
    rel.commissioner_ods = stored_text(values.get("commissioner_ods"))[:10] or None
    rel.processor_ods = stored_text(values.get("processor_ods"))[:10] or None


def _describe(before: Mapping[str, object], after: Mapping[str, object]) -> str:
    """What changed, for the audit trail: "processor_consent No → Yes; contract_end ..."."""
    changes = changed_values(before, after)
    if not changes:
        return "no values changed"
    return "; ".join(
        f"{c.key} {display_value(c.before) or '(blank)'} → {display_value(c.after) or '(blank)'}"
        for c in changes
    )


def _event(
    unit: Unit,
    now: datetime,
    actor: str,
    note: str,
    *,
    request_id: int | None = None,
    statuses: tuple[str, str] | None = None,
) -> None:
    unit.add(
        Event(
            at=now,
            actor=actor[:200],
            action=ACTION,
            request_id=request_id,
            from_status=statuses[0] if statuses else None,
            to_status=statuses[1] if statuses else None,
            note=note[:4000],
        )
    )


# --- the register as rows -----------------------------------------------------------------------


@dataclass(frozen=True)
class RegisterRow:
    """One relationship as listed: the published columns, then its state and why it is not
    published (empty when it is)."""

    reference: str
    commissioner_name: str
    commissioner_ods: str
    commissioner_type: str
    processor_name: str
    processor_ods: str
    processor_type: str
    dscro: str
    purposes: list[str]
    s251_references: list[str]
    contract_reference: str
    contract_start: date | None
    contract_end: date | None
    effective_from: date | None
    status: str
    ended_on: date | None
    version: int
    not_published: list[str] = field(default_factory=list)
    legal_basis: str = ""  # "expired: CAG 7-04(a)/2013" once an approval relied on has expired

    @property
    def published(self) -> bool:
        """Whether the relationship is in the published register."""
        return not self.not_published

    def cells(self) -> list[object]:
        """The values of the published columns, in EXPORT_COLUMNS order."""
        return [getattr(self, column.key) for column in EXPORT_COLUMNS]

    def as_dict(self) -> dict[str, object]:
        """Everything, ready for JSON: dates in ISO form."""
        return {
            **{
                column.key: _json(value)
                for column, value in zip(EXPORT_COLUMNS, self.cells(), strict=True)
            },
            "status": self.status,
            "ended_on": _json(self.ended_on),
            "version": self.version,
            "published": self.published,
            "not_published": list(self.not_published),
        }


def _json(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def register_row(
    rel: Relationship,
    version: RelationshipVersion,
    today: date,
    expired: Collection[str] = frozenset(),
) -> RegisterRow:
    """One relationship as listed on `today`; `expired`: approvals whose expiry day has come."""
    values = version.values
    lapsed = [ref for ref in stored_list(values.get("s251_references")) if ref in expired]
    text = {key: stored_text(values.get(key)) for key in RELATIONSHIP_KEYS}
    return RegisterRow(
        reference=rel.reference,
        commissioner_name=text["commissioner_name"],
        commissioner_ods=text["commissioner_ods"],
        commissioner_type=text["commissioner_type"],
        processor_name=text["processor_name"],
        processor_ods=text["processor_ods"],
        processor_type=text["processor_type"],
        dscro=text["dscro"],
        purposes=stored_list(values.get("purposes")),
        s251_references=stored_list(values.get("s251_references")),
        contract_reference=text["contract_reference"],
        contract_start=stored_date(values.get("contract_start")),
        contract_end=stored_date(values.get("contract_end")),
        effective_from=version.effective_from,
        status=status_on(rel.ended_on, today),
        ended_on=rel.ended_on,
        version=version.version,
        not_published=publishable(values, ended_on=rel.ended_on, today=today),
        legal_basis=f"expired: {', '.join(lapsed)}" if lapsed else "",
    )


def register_rows(store: Store, today: date, *, published_only: bool) -> list[RegisterRow]:
    """Every relationship (or only those published on `today`), by reference."""
    with store.unit() as unit:
        pairs = queries.relationships_with_current(unit)
        expired = {a.reference for a in approval_queries.expired_approvals(unit, today)}
    rows = [register_row(rel, version, today, expired) for rel, version in pairs]
    return [row for row in rows if row.published] if published_only else rows


# --- the published spreadsheet ------------------------------------------------------------------

DATE_FORMAT = "DD/MM/YYYY"
MAX_COLUMN_WIDTH = 60
# A cell starting with one of these is a formula to a spreadsheet program; the register carries
# text from emails, so such text is written as text (xlsx) or behind an apostrophe (csv).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export_register(store: Store, today: date, fmt: Format, path: Path) -> int:
    """Write the published register (only relationships publishable on `today`, by reference) to
    `path` as .xlsx or .csv; returns the number of relationships written."""
    rows = register_rows(store, today, published_only=True)
    writers = {"xlsx": _write_xlsx, "csv": _write_csv}
    if fmt not in writers:
        raise RegisterError(f"cannot write the register as {fmt!r}; use xlsx or csv")
    partial = path.with_name(path.name + ".partial")
    writers[fmt](rows, partial)
    partial.replace(path)  # readers never see half a register
    return len(rows)


def _sheet_value(value: object) -> object:
    if value is None or isinstance(value, date):
        return value
    return display_value(value)


def _write_xlsx(rows: Sequence[RegisterRow], path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Register"
    sheet.append([column.header for column in EXPORT_COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    table = [row.cells() for row in rows]
    for cells in table:
        sheet.append([_sheet_value(value) for value in cells])
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, date):
                cell.number_format = DATE_FORMAT
            elif isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    _set_widths(sheet, table)
    workbook.save(path)


def _set_widths(sheet: Any, table: Sequence[Sequence[object]]) -> None:
    for index, column in enumerate(EXPORT_COLUMNS):
        shown = [len(display_value(cells[index])) for cells in table]
        width = min(max([len(column.header), *shown]) + 2, MAX_COLUMN_WIDTH)
        sheet.column_dimensions[get_column_letter(index + 1)].width = width


def _csv_value(value: object) -> str:
    text = display_value(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _write_csv(rows: Sequence[RegisterRow], path: Path) -> None:
    # utf-8-sig: Excel reads the file as UTF-8 only with the byte-order mark.
    with path.open("w", newline="", encoding="utf-8-sig") as out:
        writer = csv.writer(out)
        writer.writerow([column.header for column in EXPORT_COLUMNS])
        for row in rows:
            writer.writerow([_csv_value(value) for value in row.cells()])


# --- loading a register kept by hand ------------------------------------------------------------


class ImportLine(NamedTuple):
    """A row that was loaded, merged or left unchanged."""

    row: int  # the row number in the sheet, as the spreadsheet program shows it
    reference: str
    note: str


class Refusal(NamedTuple):
    """A row that was refused, with every reason."""

    row: int
    reference: str  # "" when the row gave none
    reasons: list[str]


@dataclass
class ImportReport:
    """What an import did (or, on a dry run, would do) with each row."""

    source: str
    sheet: str
    dry_run: bool
    loaded: list[ImportLine] = field(default_factory=list)
    merged: list[ImportLine] = field(default_factory=list)
    unchanged: list[ImportLine] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    def lines(self) -> list[tuple[int, str, str, str]]:
        """(row, reference, outcome, detail) for every row, in sheet order."""
        found = [
            *((line.row, line.reference, "loaded", line.note) for line in self.loaded),
            *((line.row, line.reference, "merged", line.note) for line in self.merged),
            *((line.row, line.reference, "unchanged", line.note) for line in self.unchanged),
            *((r.row, r.reference, "refused", "; ".join(r.reasons)) for r in self.refused),
        ]
        return sorted(found)

    def as_dict(self) -> dict[str, object]:
        """The report, ready for JSON."""
        return {
            "source": self.source,
            "sheet": self.sheet,
            "dry_run": self.dry_run,
            "loaded": [line._asdict() for line in self.loaded],
            "merged": [line._asdict() for line in self.merged],
            "unchanged": [line._asdict() for line in self.unchanged],
            "refused": [refusal._asdict() for refusal in self.refused],
            "ignored_columns": list(self.ignored_columns),
        }


def import_register(
    store: Store,
    path: Path,
    *,
    now: datetime,
    dry_run: bool,
    actor: str,
    dscros: Sequence[str] = (),
) -> ImportReport:
    """Load a register spreadsheet (.xlsx, or .csv) into the register, all rows in one transaction.

    Each row is loaded (a new relationship, keeping the row's LCR reference when it has one),
    merged (a new version of the relationship it names, when its values differ), left unchanged,
    or refused with every reason. A row without a reference is the relationship with the same
    commissioner, processor and contract reference when there is one. `dscros` are the regional
    offices (from configuration) that the DSCRO column is matched against. A dry run writes
    nothing and reports the same.
    """
    sheet, rows = _read_table(path)
    columns, ignored = _header(rows, path)
    report = ImportReport(path.name, sheet, dry_run, ignored_columns=ignored)
    with store.unit() as unit:
        if not dry_run:
            queries.lock_references(unit)
        loader = _Loader(unit, report, now, actor, dscros, write=not dry_run)
        loader.prepare(columns, rows)
        for number, cells in rows:
            if number > columns.header_row:
                loader.load_row(number, columns.read(cells))
        if not dry_run:
            _event(unit, now, actor, _summary(report))
    return report


def _summary(report: ImportReport) -> str:
    return (
        f"register import {report.source}: {len(report.loaded)} loaded, "
        f"{len(report.merged)} merged, {len(report.unchanged)} unchanged, "
        f"{len(report.refused)} refused"
    )


# -- reading the file --

MAX_ROWS = 20_000  # a national register holds thousands of relationships, not millions
MAX_COLUMNS = 100  # wider is formatting run off to the right
HEADER_SEARCH_ROWS = 20  # a title or notes may stand above the header row
MIN_HEADERS = 3  # two known words in a row could be chance
REGISTER_SHEET = "register"
Rows = list[tuple[int, list[object]]]


def _read_table(path: Path) -> tuple[str, Rows]:
    """(sheet name, numbered rows) from an .xlsx (the "Register" sheet, else the first) or .csv."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return "csv", _csv_rows(path)
        if suffix == ".xlsx":
            return _xlsx_rows(path)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RegisterError(f"cannot read {path.name}: {exc}") from exc
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError) as exc:
        raise RegisterError(f"{path.name} is not a readable .xlsx workbook") from exc
    raise RegisterError(f"{path.name}: a register is read from .xlsx or .csv, not {suffix or '?'}")


def _xlsx_rows(path: Path) -> tuple[str, Rows]:
    workbook = load_workbook(path, read_only=True, data_only=True, keep_links=False)
    try:
        sheets = {ws.title.strip().casefold(): ws for ws in workbook.worksheets}
        sheet = sheets.get(REGISTER_SHEET) or workbook.worksheets[0]
        cells = islice(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), MAX_ROWS)
        rows: Rows = [(number, list(row)) for number, row in enumerate(cells, start=1)]
        return str(sheet.title), rows
    finally:
        workbook.close()


def _csv_rows(path: Path) -> Rows:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        lines = islice(csv.reader(handle), MAX_ROWS)
        return [(number, list[object](cells)) for number, cells in enumerate(lines, start=1)]


# -- the header row --

_REFERENCE, _EFFECTIVE = "reference", "effective_from"
_REGISTER_ONLY = {
    normalise_label(name): key
    for key, names in {
        _REFERENCE: ("reference", "ref", "lcr", "lcr ref", "relationship ref", "relationship"),
        _EFFECTIVE: ("effective from", "effective", "date effective", "in force from"),
    }.items()
    for name in names
}
_EXPORT_HEADERS = {normalise_label(column.header): column.key for column in EXPORT_COLUMNS}
# Form fields that name a register column under another key.
_FIELD_TO_COLUMN = {"existing_reference": _REFERENCE, "effective_date": _EFFECTIVE}
_COLUMN_KEYS = frozenset({_REFERENCE, _EFFECTIVE, *RELATIONSHIP_KEYS})


def _column_key(header: object) -> str | None:
    """What a header names: an export header, a field's key, label or alias, or a register word."""
    if not isinstance(header, str) or not header.strip():
        return None
    folded = normalise_label(header)
    if folded in _EXPORT_HEADERS:
        return _EXPORT_HEADERS[folded]
    if folded in _REGISTER_ONLY:
        return _REGISTER_ONLY[folded]
    found = field_for_label(header)
    return None if found is None else _FIELD_TO_COLUMN.get(found.key, found.key)


@dataclass(frozen=True)
class _Columns:
    header_row: int
    keys: dict[int, str]  # column index → what it holds

    def read(self, cells: Sequence[object]) -> dict[str, RawValue]:
        return {
            key: _raw(cells[index]) if index < len(cells) else None
            for index, key in self.keys.items()
        }


def _header(rows: Rows, path: Path) -> tuple[_Columns, list[str]]:
    """The header row (the first near the top that names enough columns) and ignored headers."""
    for number, cells in rows[:HEADER_SEARCH_ROWS]:
        named = [(index, _column_key(cell)) for index, cell in enumerate(cells)]
        if sum(1 for _, key in named if key in _COLUMN_KEYS) < MIN_HEADERS:
            continue
        keys: dict[int, str] = {}
        ignored: list[str] = []
        for index, key in named:
            header = str(cells[index] or "").strip()
            if key in _COLUMN_KEYS and key not in keys.values():
                keys[index] = key
            elif header:
                ignored.append(header)
        return _Columns(number, keys), ignored
    raise RegisterError(
        f"{path.name}: no header row naming the register's columns "
        f"(such as {', '.join(c.header for c in EXPORT_COLUMNS[:3])}) in the first "
        f"{HEADER_SEARCH_ROWS} rows"
    )


def _raw(cell: object) -> RawValue:
    """A cell as a form value: text trimmed, whole numbers as digits, dates as they are."""
    if cell is None or isinstance(cell, bool | date):  # datetime is a date
        return cell
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    text = str(cell).strip()
    if text[:1] == "'" and text[1:2] in _FORMULA_START:  # our own csv's guard
        text = text[1:]
    return text or None


# -- one row --


@dataclass
class _Row:
    number: int
    reference: int | None = None
    reference_text: str = ""
    values: dict[str, object] = field(default_factory=dict)
    effective_from: date | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def shown_reference(self) -> str:
        return format_reference(self.reference) if self.reference else self.reference_text

    def natural_key(self) -> tuple[str, str, str] | None:
        """Commissioner, processor and contract: how a row without a reference is recognised."""
        return _natural_key(self.values)


def _natural_key(values: Mapping[str, object]) -> tuple[str, str, str] | None:
    parts = tuple(
        stored_text(values.get(k)).casefold()
        for k in ("commissioner_ods", "processor_ods", "contract_reference")
    )
    return (parts[0], parts[1], parts[2]) if parts[0] else None


def _parse_row(number: int, raw: Mapping[str, RawValue], dscros: Sequence[str]) -> _Row:
    row = _Row(number)
    for key, value in raw.items():
        if v.is_blank(value) or v.is_placeholder(value):
            continue
        if key == _REFERENCE:
            row.reference_text = v.display(value)
            row.reference = parse_reference(row.reference_text)
            if row.reference is None:
                row.reasons.append(
                    Problem(
                        None, "Relationship reference", row.reference_text, v.REFERENCE_EXPECTED
                    ).message
                )
            continue
        try:
            if key == _EFFECTIVE:
                row.effective_from = v.parse_date(value)
            else:
                row.values[key] = _read_value(FIELDS_BY_KEY[key], value, dscros)
        except v.ValueProblem as problem:
            found = v.display(value) if problem.found is None else problem.found
            label = "Effective from" if key == _EFFECTIVE else FIELDS_BY_KEY[key].label
            row.reasons.append(Problem(key, label, found, problem.expected).message)
    return row


def _read_value(f: Field, raw: RawValue, dscros: Sequence[str]) -> object:
    """A register cell read the way the form's field is read; stored as JSON (dates ISO)."""
    hint = f.hint or v.TEXT_EXPECTED
    if f.kind is Kind.CHOICE:
        if f.key == "dscro":
            return v.parse_dscro(raw, dscros) if dscros else v.parse_text(raw, hint)
        return v.parse_choice(raw, f.choices, hint)
    if f.kind is Kind.CAG_REFS:
        parsed = parse_cag_refs(v.parse_long_text(raw, hint))
        if parsed.unparsed:
            raise v.ValueProblem(hint, found="; ".join(parsed.unparsed))
        return parsed.refs
    readers: dict[Kind, Callable[[], object]] = {
        Kind.TEXT: lambda: v.parse_text(raw, hint),
        Kind.LONG_TEXT: lambda: v.parse_long_text(raw, hint),
        Kind.YES_NO: lambda: v.parse_yes_no(raw),
        Kind.DATE: lambda: v.parse_date(raw).isoformat(),
        Kind.ODS: lambda: v.parse_ods(raw),
        Kind.EMAIL: lambda: v.parse_email(raw),
        Kind.LIST: lambda: v.parse_list(raw, hint),
        Kind.PURPOSES: lambda: v.parse_purposes(raw),
    }
    return readers[f.kind]()


def _whole_relationship_problems(values: Mapping[str, object]) -> list[str]:
    """What a relationship must have, whatever the row gave: both names of the commissioner, and
    a contract that ends after it starts."""
    reasons = [
        Problem(key, FIELDS_BY_KEY[key].label, None, FIELDS_BY_KEY[key].hint).message
        for key in ("commissioner_name", "commissioner_ods")
        if not stored_text(values.get(key))
    ]
    start, end = stored_date(values.get("contract_start")), stored_date(values.get("contract_end"))
    if start and end and end <= start:
        f = FIELDS_BY_KEY["contract_end"]
        reasons.append(
            Problem(
                f.key,
                f.label,
                f"{end:%d/%m/%Y}",
                f"a date after the contract start date ({start:%d/%m/%Y})",
            ).message
        )
    return reasons


# -- deciding and writing --


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
        report: ImportReport,
        now: datetime,
        actor: str,
        dscros: Sequence[str],
        *,
        write: bool,
    ) -> None:
        self.unit, self.report, self.now, self.actor = unit, report, now, actor
        self.dscros, self.write = dscros, write
        self.today = today_in_england(now)
        self.known: dict[str, _Known] = {}
        self.by_parties: dict[tuple[str, str, str], str] = {}
        self.seen_references: dict[str, int] = {}  # reference → the first row that gave it
        self.seen_parties: dict[tuple[str, str, str], int] = {}
        self.next_number = 1

    def prepare(self, columns: _Columns, rows: Rows) -> None:
        """Index the register, and keep the references the file gives free for its own rows."""
        for rel, version in queries.relationships_with_current(self.unit):
            self._remember(rel, version)
        given = [columns.read(cells).get(_REFERENCE) for n, cells in rows if n > columns.header_row]
        numbers = [parse_reference(raw) for raw in given if isinstance(raw, str)]
        highest_given = max((n for n in numbers if n is not None), default=0)
        self.next_number = max(queries.next_reference_number(self.unit), highest_given + 1)

    def _remember(self, rel: Relationship, version: RelationshipVersion) -> None:
        self.known[rel.reference] = _Known(rel, version)
        parties = _natural_key(version.values)
        # An ended relationship is history: a row naming the same parties is a new one.
        if parties is not None and is_active(rel.ended_on, self.today):
            self.by_parties.setdefault(parties, rel.reference)

    def load_row(self, number: int, raw: dict[str, RawValue]) -> None:
        if all(v.is_blank(value) for value in raw.values()):
            return
        row = _parse_row(number, raw, self.dscros)
        target = self._target(row)
        if target is None:
            self._load_new(row)
        else:
            self._merge(row, target)

    def _target(self, row: _Row) -> _Known | None:
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

    def _refuse(self, row: _Row, reasons: list[str]) -> None:
        self.report.refused.append(Refusal(row.number, row.shown_reference, reasons))

    def _load_new(self, row: _Row) -> None:
        values = merge_change({}, row.values)
        reasons = row.reasons + _whole_relationship_problems(values)
        if reasons:
            self._refuse(row, reasons)
            return
        if row.reference is not None:
            reference = format_reference(row.reference)
        else:
            reference, self.next_number = format_reference(self.next_number), self.next_number + 1
        self.report.loaded.append(ImportLine(row.number, reference, _parties_note(values)))
        # Later rows that repeat this one are refused by _target, so the indexes need no update.
        if self.write:
            _add_relationship(
                self.unit,
                reference,
                values,
                effective_from=row.effective_from,
                now=self.now,
                request_id=None,
                source=self._source(row),
            )
            _event(self.unit, self.now, self.actor, f"{reference} created from {self._source(row)}")

    def _merge(self, row: _Row, known: _Known) -> None:
        rel, current = known.rel, known.version
        merged = merge_change(current.values, row.values)
        reasons = row.reasons + self._merge_problems(row, known, merged)
        if reasons:
            self._refuse(row, reasons)
            return
        same_date = row.effective_from in (None, current.effective_from)
        if not changed_values(current.values, merged) and same_date:
            self.report.unchanged.append(
                ImportLine(row.number, rel.reference, f"version {rel.current_version}")
            )
            return
        note = _describe(current.values, merged)
        self.report.merged.append(
            ImportLine(row.number, rel.reference, f"version {rel.current_version + 1}: {note}")
        )
        if self.write:
            _add_version(
                self.unit,
                rel,
                merged,
                effective_from=row.effective_from or self.today,
                now=self.now,
                request_id=None,
                source=self._source(row),
            )
            message = f"{rel.reference} version {rel.current_version}: {note} ({self._source(row)})"
            _event(self.unit, self.now, self.actor, message)

    def _merge_problems(self, row: _Row, known: _Known, merged: Mapping[str, object]) -> list[str]:
        rel, current = known.rel, known.version
        reasons = _whole_relationship_problems(merged)
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

    def _source(self, row: _Row) -> str:
        return f"import {self.report.source} row {row.number}"


def _parties_note(values: Mapping[str, object]) -> str:
    commissioner = stored_text(values.get("commissioner_name"))
    processor = stored_text(values.get("processor_name"))
    return f"{commissioner} with {processor}" if processor else commissioner
