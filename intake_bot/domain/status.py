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

# Each status as the requester reads it (status emails) and staff see it.
LABELS: dict[Status, str] = {
    Status.RECEIVED: "Received",
    Status.INCOMPLETE: "Awaiting your reply",
    Status.TRIAGED: "Waiting for review",
    Status.VERIFICATION: "Being verified",
    Status.IN_REVIEW: "In review",
    Status.APPROVED: "Approved",
    Status.REJECTED: "Not approved",
    Status.WITHDRAWN: "Withdrawn",
}

# The changes the requester hears about, and what the email says happens next. Any other
# change (e.g. back to triaged) is internal: its note stays in the audit trail.
TOLD: dict[Status, str] = {
    Status.IN_REVIEW: "A member of the team is now reviewing your request.",
    Status.APPROVED: "Your request has been approved.",
    Status.REJECTED: "Your request has not been approved.",
    Status.WITHDRAWN: "Your request has been withdrawn and will not be taken further.",
    Status.INCOMPLETE: "We need more information before we can go on: please reply to this email.",
}

# The requester is told why; staff must say it.
NEEDS_NOTE = frozenset({Status.REJECTED, Status.INCOMPLETE})


def is_closed(status: str) -> bool:
    """Approved, rejected or withdrawn: nothing is due any more."""
    return status in {s.value for s in CLOSED}


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


def next_statuses(current: Status) -> list[Status]:
    """Where a request may go from `current`, in the order of the workflow."""
    return [s for s in Status if s in _ALLOWED[current]]


def parse_status(text: str) -> Status | None:
    key = text.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return Status(key)
    except ValueError:
        return None
