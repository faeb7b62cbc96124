"""The request status machine. Pure: it says what may happen, the services make it happen."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    RECEIVED = "received"
    INCOMPLETE = "incomplete"  # awaiting the requester
    TRIAGED = "triaged"
    VERIFICATION = "verification"  # sender not (yet) known as a contact of the organisations
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


OPEN = frozenset(
    {Status.RECEIVED, Status.INCOMPLETE, Status.TRIAGED, Status.VERIFICATION, Status.IN_REVIEW}
)
CLOSED = frozenset({Status.APPROVED, Status.REJECTED, Status.WITHDRAWN})

_ALLOWED: dict[Status, frozenset[Status]] = {
    Status.RECEIVED: frozenset({Status.INCOMPLETE, Status.TRIAGED, Status.VERIFICATION}),
    Status.INCOMPLETE: frozenset({Status.TRIAGED, Status.VERIFICATION, Status.INCOMPLETE}),
    Status.VERIFICATION: frozenset({Status.TRIAGED, Status.INCOMPLETE, Status.REJECTED}),
    Status.TRIAGED: frozenset({Status.IN_REVIEW, Status.INCOMPLETE}),
    Status.IN_REVIEW: frozenset(
        {Status.APPROVED, Status.REJECTED, Status.INCOMPLETE, Status.TRIAGED}
    ),
    Status.APPROVED: frozenset(),
    Status.REJECTED: frozenset(),
    Status.WITHDRAWN: frozenset(),
}
for _open in OPEN:
    _ALLOWED[_open] = _ALLOWED[_open] | {Status.WITHDRAWN}


@dataclass(frozen=True)
class Refused:
    """Why a transition may not happen, in words staff can act on."""

    message: str


def check_transition(current: Status, target: Status) -> Refused | None:
    """None when `current` → `target` is allowed, else the reason it is not."""
    if target in _ALLOWED[current]:
        return None
    if current in CLOSED:
        return Refused(f"the request is already {current.value}; a closed request cannot change")
    allowed = ", ".join(sorted(s.value for s in _ALLOWED[current])) or "none"
    return Refused(
        f"cannot go from {current.value} to {target.value}; from {current.value}: {allowed}"
    )


def parse_status(text: str) -> Status | None:
    key = text.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return Status(key)
    except ValueError:
        return None
