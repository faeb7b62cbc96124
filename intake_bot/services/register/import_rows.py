"""Reading a register kept by hand, one row at a time: which column holds what, and each row's
values read the way the form's fields are read, with every reason a row cannot be taken."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from intake_bot.domain import values as v
from intake_bot.domain.approvals import parse_cag_refs
from intake_bot.domain.fields import FIELDS_BY_KEY, Field, Kind, field_for_label, normalise_label
from intake_bot.domain.rawform import RawValue
from intake_bot.domain.register import (
    EXPORT_COLUMNS,
    RELATIONSHIP_KEYS,
    RegisterError,
    format_reference,
    parse_reference,
    stored_date,
    stored_text,
)
from intake_bot.domain.validation import Problem
from intake_bot.services.register.sheets import FORMULA_START, Rows

HEADER_SEARCH_ROWS = 20  # a title or notes may stand above the header row
MIN_HEADERS = 3  # two known words in a row could be chance

REFERENCE, EFFECTIVE = "reference", "effective_from"
_REGISTER_ONLY = {
    normalise_label(name): key
    for key, names in {
        REFERENCE: ("reference", "ref", "lcr", "lcr ref", "relationship ref", "relationship"),
        EFFECTIVE: ("effective from", "effective", "date effective", "in force from"),
    }.items()
    for name in names
}
_EXPORT_HEADERS = {normalise_label(column.header): column.key for column in EXPORT_COLUMNS}
# Form fields that name a register column under another key.
_FIELD_TO_COLUMN = {"existing_reference": REFERENCE, "effective_date": EFFECTIVE}
_COLUMN_KEYS = frozenset({REFERENCE, EFFECTIVE, *RELATIONSHIP_KEYS})


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
class Columns:
    header_row: int
    keys: dict[int, str]  # column index → what it holds

    def read(self, cells: Sequence[object]) -> dict[str, RawValue]:
        return {
            key: _raw(cells[index]) if index < len(cells) else None
            for index, key in self.keys.items()
        }


def find_header(rows: Rows, path: Path) -> tuple[Columns, list[str]]:
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
        return Columns(number, keys), ignored
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
    if text[:1] == "'" and text[1:2] in FORMULA_START:  # our own csv's guard
        text = text[1:]
    return text or None


@dataclass
class Row:
    """One row of the sheet as read: its reference, its values, and what is wrong with it."""

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
        return natural_key(self.values)


def natural_key(values: Mapping[str, object]) -> tuple[str, str, str] | None:
    parts = tuple(
        stored_text(values.get(k)).casefold()
        for k in ("commissioner_ods", "processor_ods", "contract_reference")
    )
    return (parts[0], parts[1], parts[2]) if parts[0] else None


def parse_row(
    number: int,
    raw: Mapping[str, RawValue],
    dscros: Sequence[str],
    office_aliases: Mapping[str, Sequence[str]] | None = None,
) -> Row:
    """A row's cells read the way the form reads its fields; what cannot be read is a reason. The
    DSCRO may also be written as an office's alias from configuration, as staff write it."""
    row = Row(number)
    for key, value in raw.items():
        if v.is_blank(value) or v.is_placeholder(value):
            continue
        if key == REFERENCE:
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
            if key == EFFECTIVE:
                row.effective_from = v.parse_date(value)
            else:
                row.values[key] = _read_value(FIELDS_BY_KEY[key], value, dscros, office_aliases)
        except v.ValueProblem as problem:
            found = v.display(value) if problem.found is None else problem.found
            label = "Effective from" if key == EFFECTIVE else FIELDS_BY_KEY[key].label
            row.reasons.append(Problem(key, label, found, problem.expected).message)
    return row


def _read_value(
    f: Field,
    raw: RawValue,
    dscros: Sequence[str],
    office_aliases: Mapping[str, Sequence[str]] | None,
) -> object:
    """A register cell read the way the form's field is read; stored as JSON (dates ISO)."""
    hint = f.hint or v.TEXT_EXPECTED
    if f.kind is Kind.CHOICE:
        if f.key == "dscro":  # stored as the office's own name, whichever name the cell used
            if not dscros:
                return v.parse_text(raw, hint)
            return v.parse_dscro(raw, dscros, office_aliases)
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


def whole_relationship_problems(values: Mapping[str, object]) -> list[str]:
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


def parties_note(values: Mapping[str, object]) -> str:
    """ "NHS Leeds CCG with North of England CSU", for the report."""
    commissioner = stored_text(values.get("commissioner_name"))
    processor = stored_text(values.get("processor_name"))
    return f"{commissioner} with {processor}" if processor else commissioner
