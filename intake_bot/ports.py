"""The small interfaces that adapters implement and services depend on."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

Clock = Callable[[], datetime]  # returns an aware UTC datetime


@dataclass(frozen=True)
class MessageRef:
    """Where a message sits: (mailbox, UIDVALIDITY, UID). Maildir uses uidvalidity 0 and its key."""

    mailbox: str
    uidvalidity: int
    uid: str


@dataclass(frozen=True)
class Candidate:
    """A message not yet examined, with just enough of its header to decide whether it is ours."""

    ref: MessageRef
    subject: str  # decoded (RFC 2047), unfolded
    size: int = 0


@dataclass(frozen=True)
class Scan:
    """The result of looking for new messages."""

    uidvalidity: int
    candidates: list[Candidate]
    # The highest UID the scan saw (IMAP); the caller may record it as examined once every
    # candidate has been dealt with. 0 where the source has no UIDs (Maildir).
    high_uid: int = 0


class MailboxError(Exception):
    """The mailbox could not be reached or answered unexpectedly; the poll may be retried."""


class Mailbox(Protocol):
    """A source of request emails. Never marks anything seen; changes a message only when told."""

    name: str  # stable identity, e.g. "imap://intake@mail.example:993/INBOX" or "maildir:/srv/mail"

    def scan(self, *, uidvalidity: int | None, after_uid: int) -> Scan:
        """New messages: UIDs above `after_uid` (all of them if UIDVALIDITY changed)."""
        ...

    def fetch(self, refs: Sequence[MessageRef]) -> Iterator[tuple[MessageRef, bytes]]:
        """Raw bytes of each message (IMAP `BODY.PEEK[]`, no `\\Seen`); vanished ones skipped."""
        ...

    def mark_processed(self, refs: Sequence[MessageRef]) -> None:
        """Filed: flag them and move them to the processed folder if one is set. Idempotent.

        Called with a batch, after every message in it was committed: one round trip, not one
        a message.
        """
        ...

    def quarantine(self, ref: MessageRef) -> None:
        """Could not be processed: move it to the quarantine folder. Idempotent."""
        ...

    def leave(self, ref: MessageRef) -> None:
        """Not ours: leave it as it is (Maildir moves it from new/ to cur/ untouched)."""
        ...

    def close(self) -> None: ...


class SendError(Exception):
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
