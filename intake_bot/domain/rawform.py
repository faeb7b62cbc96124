"""What a form reader hands to validation: field values as found, before any checking."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

# A value as a reader found it: text as typed, a ticked/unticked checkbox, a real Excel/Word date,
# or nothing at all.
RawValue = str | bool | date | datetime | None


class Versioning(StrEnum):
    """What a form file said of its version, and so how it was read (domain/form_versions.py)."""

    CURRENT = "current"  # the current form: read by today's keys and labels
    OLDER = "older"  # an older version: read through its mapping
    MISSING = "missing"  # a .docx or .xlsx naming no version: read by its labels, flagged
    UNMAPPED = "unmapped"  # a version no mapping covers: not read
    NOT_CARRIED = "not_carried"  # an email body or a .csv with no "Form version" row


@dataclass
class RawForm:
    """One filled-in form (one request): values by field key, as found in the file."""

    source: (
        str  # where it came from, for people: "request.docx", "bulk.xlsx, Bulk row 4", "email body"
    )
    values: dict[str, RawValue] = field(default_factory=dict)
    unknown_labels: list[str] = field(default_factory=list)  # labels that name no field
    # Values given for a field after its first, in form order, each with whether it came under
    # the field's own label or key (True) or a loose alias such as "Email" (False): a label
    # filled in twice, an older label beside today's. Validation settles them
    # (domain/repeated_fields.py).
    repeats: dict[str, list[tuple[RawValue, bool]]] = field(default_factory=dict)
    loose: set[str] = field(default_factory=set)  # fields whose first value came by an alias
    version: str | None = None  # the form version the file declared, when well formed
    versioning: Versioning = Versioning.NOT_CARRIED  # how it was read (by which labels)
    # Declaring no version, read partly by an older version's own labels: that version.
    older_labels: str | None = None
    # Declaring a version whose labels left it largely unread, read by another version's
    # labels: that version (its sender and staff are told what its labels are).
    labels_version: str | None = None
    # A form whose version carriers disagree: what staff are told (the reader's sentence).
    version_conflict: str | None = None
    # Carriers that held something not read as a version, each as staff are told it (never the
    # sender's text): "a version we do not recognise (document property)".
    version_unread: list[str] = field(default_factory=list)

    def filled(self) -> int:
        """How many fields carry something."""
        return sum(1 for v in self.values.values() if v not in (None, ""))
