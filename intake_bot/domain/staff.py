"""Staff accounts of the web console: roles, what each may do, and which offices' work it sees.

Plain rules, no I/O. A caseworker works the queues of their own regional offices; a lead does
that and approves or rejects; an admin does both and manages staff, s251 approvals and register
imports. Anything outside an account's offices is, to that account, not there at all (404).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from intake_bot.domain.status import Status
from intake_bot.domain.triage import office_slug
from intake_bot.domain.workflow import WorkflowError

LOCK_AFTER = 5  # wrong passwords in a row lock the account...
LOCKED_FOR = timedelta(minutes=15)  # ...for this long
IDLE_FOR = timedelta(minutes=30)  # a session unused this long has ended
MIN_PASSWORD = 12  # characters


class Role(StrEnum):
    CASEWORKER = "caseworker"
    LEAD = "lead"
    ADMIN = "admin"


# Only leads (and admins) decide: approving changes who may receive NHS data.
_DECISIONS = frozenset({Status.APPROVED, Status.REJECTED})


def may_set_status(role: Role, target: Status) -> bool:
    """Caseworkers triage, ask for information and put in review; leads also approve and reject."""
    return target not in _DECISIONS or role in (Role.LEAD, Role.ADMIN)


def sees_queue(offices: Iterable[str], queue: str) -> bool:
    """Whether an account working `offices` (their names) sees the queue "north/new"; the
    shared queues (enquiries, quarantine) are not any one office's."""
    office, _, kind = queue.partition("/")
    return bool(kind) and office in {office_slug(o) for o in offices}


def sees_office(offices: Iterable[str], office: str | None) -> bool:
    """Whether an account working `offices` sees the work of `office` (None: no office yet)."""
    return office is not None and office_slug(office) in {office_slug(o) for o in offices}


class StaffError(WorkflowError):
    """A staff account cannot be added or changed as asked; the message says why."""


class SignInError(Exception):
    """Signing in failed. The message never says whether the email or the password was wrong."""


class SecondFactorNeededError(SignInError):
    """The password was right; the account (an admin's) also needs its authenticator's code."""


@dataclass(frozen=True)
class StaffMember:
    """A staff account as the console and the CLI show it (never its password hash)."""

    email: str
    name: str
    role: Role
    offices: tuple[str, ...]
    disabled: bool
    locked_until: datetime | None
    last_login_at: datetime | None
    second_factor: bool = False  # signs in with an authenticator's code too
    totp_uri: str = ""  # only when the account is made: for the admin's authenticator app
