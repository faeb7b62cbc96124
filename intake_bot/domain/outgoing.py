"""An email the bot writes, as values: the filled-in template, the letter to compose, the result."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Rendered:
    """A filled-in template: the subject line, the plain text and the HTML of one email."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class FileToAttach:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Letter:
    """Everything an email is made of besides its Message-ID, which composing it fixes."""

    rendered: Rendered
    sender: str
    sender_name: str
    to: Sequence[str]
    now: datetime
    in_reply_to: str | None = None  # the email answered: the reply threads onto it
    references: Sequence[str] = ()
    attachments: Sequence[FileToAttach] = ()
    auto_submitted: str = "auto-replied"  # RFC 3834: "auto-generated" for what answers nothing


@dataclass(frozen=True)
class Composed:
    """A finished email, ready for the outbox."""

    message_id: str
    subject: str
    raw: bytes


@dataclass
class SendReport:
    """What one run of the sender did."""

    sent: int = 0
    deferred: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
