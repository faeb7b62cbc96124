"""Turns rendered text into a complete MIME message with a fixed Message-ID."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid

from intake_bot.mail.render import Rendered

BOT_HEADER = "X-Intake-Bot"
# CRLF line ends; headers folded only past 998 characters, so that Message-ID stays on one line.
_WIRE = SMTP.clone(max_line_length=998)


@dataclass(frozen=True)
class FileToAttach:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Composed:
    message_id: str
    subject: str
    raw: bytes


def compose(
    rendered: Rendered,
    *,
    sender: str,
    sender_name: str,
    to: Sequence[str],
    now: datetime,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    attachments: Sequence[FileToAttach] = (),
    auto_submitted: str = "auto-replied",
) -> Composed:
    """A text + HTML email, threaded on `in_reply_to`, marked as automatic (RFC 3834)."""
    msg = EmailMessage()
    domain = sender.rpartition("@")[2] or "intake-bot.invalid"
    message_id = make_msgid(idstring="intake-bot", domain=domain)
    msg["From"] = formataddr((sender_name, sender))
    msg["To"] = ", ".join(to)
    msg["Subject"] = rendered.subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    refs = [r for r in references if r]
    if in_reply_to and in_reply_to not in refs:
        refs.append(in_reply_to)
    if refs:
        msg["References"] = " ".join(refs[-20:])  # keep the header bounded on long threads
    # Tell other robots not to answer us, and Exchange not to send out-of-office replies.
    msg["Auto-Submitted"] = auto_submitted
    msg["X-Auto-Response-Suppress"] = "All"
    msg[BOT_HEADER] = "1"
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    for item in attachments:
        maintype, _, subtype = item.content_type.partition("/")
        msg.add_attachment(item.data, maintype=maintype, subtype=subtype, filename=item.filename)
    return Composed(message_id=message_id, subject=rendered.subject, raw=msg.as_bytes(policy=_WIRE))
