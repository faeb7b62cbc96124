"""Which staff queue a request or message lands in."""

from __future__ import annotations

import re

from intake_bot.domain.fields import RequestType

ENQUIRIES = "enquiries"
QUARANTINE = "quarantine"
UNASSIGNED = "unassigned"
INCOMPLETE = "incomplete"
VERIFICATION = "verification"

_SLUG = re.compile(r"[^a-z0-9]+")


def office_slug(name: str | None) -> str:
    """ "Midlands and East" → "midlands-and-east"; no office → "unassigned"."""
    if not name:
        return UNASSIGNED
    return _SLUG.sub("-", name.lower()).strip("-") or UNASSIGNED


def queue_for(dscro: str | None, request_type: RequestType | None, complete: bool) -> str:
    """Regional office × kind: "north/new", "london/end", "south/incomplete"."""
    kind = request_type.value if (complete and request_type) else INCOMPLETE
    return f"{office_slug(dscro)}/{kind}"


def verification_queue(dscro: str | None) -> str:
    return f"{office_slug(dscro)}/{VERIFICATION}"


REFERENCE_PREFIX = "LR-"
_REF = re.compile(r"\bLR-?(\d{1,9})\b", re.IGNORECASE)


def request_reference(request_id: int) -> str:
    return f"{REFERENCE_PREFIX}{request_id:06d}"


def parse_request_reference(text: str) -> int | None:
    """The request id named by "LR-000123" (also "lr123"), or None."""
    match = _REF.search(text)
    return int(match.group(1)) if match else None


def references_in(text: str) -> list[int]:
    return [int(m.group(1)) for m in _REF.finditer(text)]
