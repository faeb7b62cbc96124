"""The register of relationships: references, what a relationship holds, and the publication rule.

Pure: no I/O. Values are as stored (JSON: dates as ISO text, yes/no as booleans, lists as lists).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from intake_bot.domain.fields import FIELDS, FIELDS_BY_KEY, Kind

REFERENCE_PREFIX = "LCR-"

# The fields that describe the relationship itself, and who asked for it as it stands: the
# requester and the authoriser are reminded before an s251 approval it relies on expires. The rest
# of the form (the kind of request, the reference it names, its date, its description, the
# requester's role and phone, the declaration) is about the request, and stays with the request.
# The effective date becomes a version's `effective_from`.
RELATIONSHIP_KEYS: tuple[str, ...] = (
    "commissioner_name",
    "commissioner_ods",
    "commissioner_type",
    "processor_name",
    "processor_ods",
    "processor_type",
    "processor_safe_haven",
    "dscro",
    "datasets",
    "purposes",
    "s251_references",
    "contract_reference",
    "contract_signed",
    "contract_signed_date",
    "contract_start",
    "contract_end",
    "commissioner_consent",
    "processor_consent",
    "authoriser_name",
    "authoriser_email",
    "requester_name",
    "requester_email",
)
REQUEST_ONLY_KEYS: frozenset[str] = frozenset(f.key for f in FIELDS) - set(RELATIONSHIP_KEYS)

ACTIVE = "active"
ENDED = "ended"

NOT_SIGNED = "no signed service contract"
NO_COMMISSIONER_CONSENT = "the commissioning organisation has not consented to publication"
NO_PROCESSOR_CONSENT = "the data processor has not consented to publication"


class RegisterError(Exception):
    """The register cannot change as asked; the message tells staff why."""


# --- references -------------------------------------------------------------------------------

_REFERENCE = re.compile(r"lcr\s*[-_/.:]?\s*(\d{1,6})", re.IGNORECASE)


def format_reference(number: int) -> str:
    """The reference of relationship `number`: 123 → "LCR-000123"."""
    return f"{REFERENCE_PREFIX}{number:06d}"


def parse_reference(text: str) -> int | None:
    """The number in "LCR-000123", "lcr 123" or "LCR123"; None when `text` is not a reference."""
    match = _REFERENCE.fullmatch(text.strip())
    return int(match[1]) if match else None


# --- activity and publication -----------------------------------------------------------------


def is_active(ended_on: date | None, today: date) -> bool:
    """Whether a relationship is in force on `today`: it ends at the start of its end date."""
    return ended_on is None or ended_on > today


def status_on(ended_on: date | None, today: date) -> str:
    """The status of a relationship on `today`: active, or ended."""
    return ACTIVE if is_active(ended_on, today) else ENDED


def publishable(values: Mapping[str, object], *, ended_on: date | None, today: date) -> list[str]:
    """Why the relationship may not be published on `today`; an empty list means it may.

    Published only while active, with a signed service contract in place, and with the consent of
    every organisation involved (FORM.md, "Relationships and publication").
    """
    reasons: list[str] = []
    if not is_active(ended_on, today):
        reasons.append(f"ended on {ended_on:%d/%m/%Y}")
    if values.get("contract_signed") is not True:
        reasons.append(NOT_SIGNED)
    contract_end = stored_date(values.get("contract_end"))
    if contract_end is not None and contract_end < today:
        # A contract that has run out is no longer "a signed service contract in place".
        reasons.append(f"the service contract ended on {contract_end:%d/%m/%Y}")
    if values.get("commissioner_consent") is not True:
        reasons.append(NO_COMMISSIONER_CONSENT)
    if values.get("processor_consent") is not True:
        reasons.append(NO_PROCESSOR_CONSENT)
    return reasons


# --- versions ---------------------------------------------------------------------------------


def is_filled(value: object) -> bool:
    """Whether a stored value says something: None, blank text and empty lists do not."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | tuple):
        return bool(value)
    return True


def relationship_values(values: Mapping[str, object]) -> dict[str, object]:
    """The filled-in values of a request that describe the relationship, in form order."""
    return {key: values[key] for key in RELATIONSHIP_KEYS if is_filled(values.get(key))}


def merge_change(current: Mapping[str, object], change: Mapping[str, object]) -> dict[str, object]:
    """The relationship after a change: filled values of `change` replace the current ones,
    blank or missing ones keep them. Values that are not about the relationship are ignored."""
    merged = relationship_values(current)
    merged.update(relationship_values(change))
    return {key: merged[key] for key in RELATIONSHIP_KEYS if key in merged}


@dataclass(frozen=True)
class ValueChange:
    """One relationship value that a new version changes."""

    key: str
    before: object
    after: object


def changed_values(before: Mapping[str, object], after: Mapping[str, object]) -> list[ValueChange]:
    """The relationship values that differ between two versions, in form order."""
    changes: list[ValueChange] = []
    for key in RELATIONSHIP_KEYS:
        old, new = before.get(key), after.get(key)
        if _comparable(old) != _comparable(new):
            changes.append(ValueChange(key, old, new))
    return changes


def _comparable(value: object) -> object:
    # A list stored as a tuple somewhere, or a blank kept as "", is the same value.
    if not is_filled(value):
        return None
    if isinstance(value, tuple):
        return list(value)
    return value


# --- the published spreadsheet ----------------------------------------------------------------


@dataclass(frozen=True)
class ExportColumn:
    """One column of the published register: its header, and the name of what goes in it (a field
    key, or "reference" / "effective_from")."""

    header: str
    key: str
    is_date: bool = False


def _field_column(key: str) -> ExportColumn:
    f = FIELDS_BY_KEY[key]
    return ExportColumn(f.label, key, is_date=f.kind is Kind.DATE)


EXPORT_COLUMNS: tuple[ExportColumn, ...] = (
    ExportColumn("Relationship reference", "reference"),
    _field_column("commissioner_name"),
    _field_column("commissioner_ods"),
    _field_column("commissioner_type"),
    _field_column("processor_name"),
    _field_column("processor_ods"),
    _field_column("processor_type"),
    _field_column("dscro"),
    _field_column("purposes"),
    _field_column("s251_references"),
    _field_column("contract_reference"),
    _field_column("contract_start"),
    _field_column("contract_end"),
    ExportColumn("Effective from", "effective_from", is_date=True),
    # Section 251 approvals relied on whose expiry day has come (issue: s251 reminders).
    ExportColumn("Legal basis", "legal_basis"),
)


def stored_date(value: object) -> date | None:
    """A stored date (ISO text, or a date) as a date; None when missing or unreadable."""
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def stored_list(value: object) -> list[str]:
    """A stored list value as a list of text (a single value becomes a one-item list)."""
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    return [str(value)] if is_filled(value) else []


def stored_text(value: object) -> str:
    """A stored value as trimmed text; "" when there is none."""
    return str(value).strip() if is_filled(value) else ""
