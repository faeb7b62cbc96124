"""What a form reader hands to validation: field values as found, before any checking."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

# A value as a reader found it: text as typed, a ticked/unticked checkbox, a real Excel/Word date,
# or nothing at all.
RawValue = str | bool | date | datetime | None


@dataclass
class RawForm:
    """One filled-in form (one request): values by field key, as found in the file."""

    source: (
        str  # where it came from, for people: "request.docx", "bulk.xlsx, Bulk row 4", "email body"
    )
    values: dict[str, RawValue] = field(default_factory=dict)
    unknown_labels: list[str] = field(default_factory=list)  # labels that name no field

    def filled(self) -> int:
        """How many fields carry something."""
        return sum(1 for v in self.values.values() if v not in (None, ""))
