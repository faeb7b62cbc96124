"""The mail side's ports: a source of messages (`MailSource`) and a way to send (`MailTransport`).

Source-neutral: a message's key and a source's cursor are opaque strings that only the source
that gave them reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

from intake_bot.errors import OperatorError


@dataclass(frozen=True)
class MessageRef:
    """Where a message sits: the name of its source and a key that only that source reads."""

    mailbox: str
    key: str


@dataclass(frozen=True)
class Candidate:
    """A message not yet examined, with just enough of its header to decide whether it is ours."""

    ref: MessageRef
    subject: str  # decoded (RFC 2047), unfolded
    size: int = 0
    # A cursor past this message and every candidate before it, for a poll that stops part way;
    # None where the source keeps its own state (Maildir).
    cursor_after: str | None = None


@dataclass(frozen=True)
class Changes:
    """What a source holds that is new since a cursor, oldest first."""

    candidates: list[Candidate]
    # Where the next look starts once every candidate is settled; None where the source keeps
    # its own state. Opaque: only the source that gave it reads it.
    cursor: str | None = None


class Settlement(StrEnum):
    """How a message ended, as the source is told after the database committed it."""

    FILED = "filed"  # flagged or moved to the processed folder
    QUARANTINED = "quarantined"  # moved to the quarantine folder
    NOT_OURS = "not_ours"  # another subject: left for people, not looked at again


class MailboxError(OperatorError):
    """The mailbox could not be reached or answered unexpectedly; the poll may be retried."""

    setting = "mailbox.url"


class MailSource(Protocol):
    """A source of request emails. Never marks anything seen; changes a message only when told."""

    name: str  # the mailbox's name in the settings: its cursor, lease and status are keyed on it

    def changes(self, cursor: str | None) -> Changes:
        """Messages new since `cursor` (everything there is, for None or a cursor gone stale)."""
        ...

    def fetch(self, refs: Sequence[MessageRef]) -> Iterator[tuple[MessageRef, bytes]]:
        """Raw bytes of each message, in the order asked; vanished ones skipped. Reading
        changes nothing: a message people have not opened stays unread."""
        ...

    def settle(self, refs: Sequence[MessageRef], outcome: Settlement) -> None:
        """Tell the source how these messages ended. Idempotent.

        Called after the database committed them, with a whole batch at once (one round trip
        to the server, not one a message).
        """
        ...

    @property
    def push(self) -> bool:
        """Whether `wait` can tell news as it comes (then a watcher waits on a source of its own).

        A source may learn only once connected that it cannot (a server without push): from
        then on this is False and `wait` returns False at once.
        """
        ...

    def wait(self, timeout: float) -> bool:
        """Block up to `timeout` seconds for news (push sources). True: poll now.

        A source without push returns False at once: poll it on its interval.
        """
        ...

    def close(self) -> None: ...


class CredentialsError(MailboxError):
    """No token could be had. `permanent`: the operator must act (`fix` says how)."""

    def __init__(self, message: str, *, permanent: bool = False, fix: str = "") -> None:
        super().__init__(f"{message}: {fix}" if fix else message)
        self.permanent = permanent
        self.fix = fix


class TokenProvider(Protocol):
    """Access tokens for one mailbox or the outgoing server."""

    name: str  # what it is for, as the settings name it ("mailbox", "mailbox[1]", "outgoing")

    def token(self) -> str:
        """A current access token (cached, renewed ahead of its expiry). CredentialsError."""
        ...

    def invalidate(self) -> None:
        """The server refused the last token: the next `token()` gets a new one."""
        ...

    def fingerprint(self) -> str:
        """Changes when the operator changes the credentials (a new secret, a new sign-in), so
        that a mailbox stopped on a permanent fault starts again once it is fixed."""
        ...


@dataclass(frozen=True)
class Credential:
    """One mailbox's or the outgoing server's OAuth 2.0 credentials, as far as they are known."""

    name: str  # the mailbox's name, or "outgoing"
    setting: str  # where it is set: "mailbox", "mailbox[1]", "outgoing"
    fingerprint: Callable[[], str]  # changes when the operator changes the credentials
    expires: date | None = None  # the secret's or certificate's end, when known


class SendError(OperatorError):
    """Sending failed. `permanent` says retrying will not help (the server refused the message)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class MailTransport(Protocol):
    """Delivers one finished message. Raises SendError."""

    def send(
        self, *, sender: str, recipients: Sequence[str], raw: bytes, message_id: str
    ) -> None: ...

    def close(self) -> None: ...
