"""JSON for what `json` cannot write, the one policy of the CLI's --json and the console's API:
ISO 8601 dates and times (with their offsets), records as objects, sets as sorted lists."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import date


def json_value(value: object) -> object:
    """`json.dumps(..., default=json_value)`."""
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)
