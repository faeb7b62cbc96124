"""Turns rendered text into a complete MIME message with a fixed Message-ID (`Composer`)."""

from __future__ import annotations

import random
import re
import sys
from collections.abc import Sequence
from datetime import datetime
from email.charset import Charset
from email.encoders import encode_base64
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import compat32
from email.utils import format_datetime, formataddr, make_msgid

from intake_bot.domain.outgoing import Composed, FileToAttach, Letter, Rendered

__all__ = ["BOT_HEADER", "Composed", "FileToAttach", "MimeComposer", "compose"]

BOT_HEADER = "X-Intake-Bot"
# CRLF line ends; headers folded only past 998 characters, so that Message-ID stays on one line.
_WIRE = compat32.clone(linesep="\r\n", max_line_length=998)
_ASCII = Charset("us-ascii")
_UTF8 = Charset("utf-8")  # base64: C-speed, where the library's quoted-printable is pure Python


def _header(text: str) -> str:
    """ASCII as it is; anything else as RFC 2047 encoded words."""
    return text if text.isascii() else Header(text, "utf-8").encode()


def _text(body: str, subtype: str) -> MIMENonMultipart:
    """Plain ASCII goes as it is (7bit, no encoding cost); anything else as UTF-8 base64."""
    seven_bit = body.isascii() and all(len(line) <= 998 for line in body.splitlines())
    part = MIMENonMultipart("text", subtype)
    part.set_payload(body, _ASCII if seven_bit else _UTF8)
    return part


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
    # The classic MIME classes: about ten times cheaper than EmailMessage's header objects,
    # and there is one of these for every request filed.
    body = MIMEMultipart("alternative")
    body.attach(_text(rendered.text, "plain"))
    body.attach(_text(rendered.html, "html"))
    if attachments:
        msg: MIMEBase = MIMEMultipart("mixed")
        msg.attach(body)
        for item in attachments:
            maintype, _, subtype = item.content_type.partition("/")
            part = MIMEBase(maintype, subtype)
            part.set_payload(item.data)
            encode_base64(part)
            part.add_header("Content-Disposition", "attachment", filename=item.filename)
            msg.attach(part)
    else:
        msg = body
    domain = sender.rpartition("@")[2] or "intake-bot.invalid"
    message_id = make_msgid(idstring="intake-bot", domain=domain)
    msg["From"] = formataddr((sender_name, sender), charset="utf-8")
    msg["To"] = ", ".join(to)
    msg["Subject"] = _header(rendered.subject)
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
    raw = None if attachments else _plain_bytes(msg)
    if raw is None:
        raw = msg.as_bytes(policy=_WIRE)
    return Composed(message_id=message_id, subject=rendered.subject, raw=raw)


# A header the generator would write as it is: printable ASCII, single spaces, one short line.
_PLAIN_HEADER = re.compile(r"[!-~]+(?: [!-~]+)*")


def _plain_bytes(msg: MIMEBase) -> bytes | None:
    """What `msg.as_bytes(policy=_WIRE)` gives for text + HTML with plain headers, written
    directly: the generator folds every header through `email.header`, a third of the cost of
    an acknowledgement. None when anything needs folding or encoding: then the generator."""
    parts: list[Message] = []
    bodies: list[str] = []
    for part in msg.get_payload() if msg.is_multipart() else ():
        body = part.get_payload() if isinstance(part, Message) else None
        if not isinstance(part, Message) or not isinstance(body, str) or not body.isascii():
            return None
        parts.append(part)
        bodies.append(body)
    if not parts:
        return None
    if msg.get_boundary() is None:
        msg.set_boundary(_boundary(bodies))
    boundary = msg.get_boundary()
    head = _header_lines(msg)
    if head is None:
        return None
    out = [head, "\r\n"]
    for part, body in zip(parts, bodies, strict=True):
        part_head = _header_lines(part)
        if part_head is None:
            return None
        out += [f"--{boundary}\r\n", part_head, "\r\n", _CRLF.sub("\r\n", body), "\r\n"]
    out.append(f"--{boundary}--\r\n")
    return "".join(out).encode("ascii")


def _boundary(bodies: Sequence[str]) -> str:
    """A boundary as the generator draws it, that no body contains anywhere (stricter than its
    line-start check, so a guessed boundary gains nothing; and no regular expression compiled
    for each email)."""
    while True:
        boundary = f"{'=' * 15}{random.randrange(sys.maxsize):019d}=="
        if not any(boundary in body for body in bodies):
            return boundary


def _header_lines(msg: Message) -> str | None:
    out = []
    for name, value in msg.items():
        if not isinstance(value, str) or not _PLAIN_HEADER.fullmatch(value):
            return None
        if len(name) + 2 + len(value) > _WIRE.max_line_length:  # type: ignore[operator]
            return None
        out.append(f"{name}: {value}\r\n")
    return "".join(out)


_CRLF = re.compile(r"\r\n|\r|\n")


class MimeComposer:
    """The `Composer` port over `compose`."""

    def compose(self, letter: Letter) -> Composed:
        return compose(
            letter.rendered,
            sender=letter.sender,
            sender_name=letter.sender_name,
            to=letter.to,
            now=letter.now,
            in_reply_to=letter.in_reply_to,
            references=letter.references,
            attachments=letter.attachments,
            auto_submitted=letter.auto_submitted,
        )
