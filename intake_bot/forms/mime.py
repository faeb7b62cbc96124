"""The MIME structure of a hostile message: parsed within limits, walked part by part.

The walk is bounded in number of parts and depth of nesting; what a limit cuts is noted as a
defect for staff and, in `cuts`, as a sentence the sender is told too. Parts are decoded here
too: their content as bytes, their text in its charset, and an attached message as the bytes it
came as.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesParser
from itertools import islice

from intake_bot.forms.defects import add_defect
from intake_bot.forms.limits import DEFAULT_LIMITS

MAX_MESSAGE_BYTES = 40 * 1024 * 1024  # above this only the headers are read
# The library parses every part before we can stop it, at a fraction of a millisecond each:
# beyond this many part headers, only the message's own headers are read.
MAX_PART_HEADERS = 2_000
MAX_PARTS = DEFAULT_LIMITS.parts_per_email
MAX_DEPTH = 20

MESSAGE_TYPES = ("message/rfc822", "message/global")
_ASCII_CHARSETS = frozenset({"us-ascii", "ascii", "unknown-8bit", "x-unknown", "default"})
_PART_HEADER = re.compile(rb"^content-type:", re.IGNORECASE | re.MULTILINE)

# Headers stay plain text under the classic policy (see headers.py for how they are read).
_STRUCTURE = policy.compat32
# Attached messages are written out with their headers exactly as received.
_AS_RECEIVED = policy.compat32.clone(max_line_length=0)


def parse_mime(
    raw: bytes, defects: list[str], cuts: list[str] | None = None
) -> tuple[Message, bool]:
    """The parsed message, and whether its parts were parsed (else only its headers)."""
    reason = _too_large(raw)
    if reason is None:
        try:
            return BytesParser(policy=_STRUCTURE).parsebytes(raw), True
        except Exception as exc:  # e.g. RecursionError on parts nested a thousand deep
            reason = f"MIME structure unreadable ({type(exc).__name__})"
    add_defect(defects, f"{reason}: body and attachments not read")
    if cuts is not None:
        cuts.append(f"the text and attachments of the email were not read ({reason})")
    return BytesParser(policy=_STRUCTURE).parsebytes(raw, headersonly=True), False


def _too_large(raw: bytes) -> str | None:
    """Why the body of this message is not to be parsed at all, if it is not."""
    if len(raw) > MAX_MESSAGE_BYTES:
        return f"message over {MAX_MESSAGE_BYTES} bytes"
    if raw.lower().count(b"content-type:") <= MAX_PART_HEADERS:
        return None  # an upper bound, at C speed: most mail never needs the line-start scan
    part_headers = _PART_HEADER.finditer(raw)
    if next(islice(part_headers, MAX_PART_HEADERS, None), None) is not None:
        return f"more than {MAX_PART_HEADERS} MIME parts"
    return None


@dataclass(frozen=True)
class Part:
    part: Message
    content_type: str
    depth: int
    forwarded: bool  # inside an attached message
    children: list[Message]  # [] for a leaf


def walk(
    msg: Message,
    defects: list[str],
    *,
    max_parts: int = MAX_PARTS,
    cuts: list[str] | None = None,
) -> Iterator[Part]:
    """Every part in document order, within `max_parts` parts and MAX_DEPTH levels; what the
    limits leave unread is added to `cuts`, when given."""
    stack: list[tuple[Message, int, bool]] = [(msg, 0, False)]  # part, depth, forwarded
    dropped = 0  # parts never put on the stack
    for budget in range(max_parts, 0, -1):
        if not stack:
            return
        part, depth, forwarded = stack.pop()
        content_type = _content_type(part)
        children = _children(part, content_type, defects)
        item = Part(part, content_type, depth, forwarded, children)
        yield item
        if children and depth >= MAX_DEPTH:
            add_defect(defects, f"MIME parts nested deeper than {MAX_DEPTH}: not read")
            _cut(cuts, f"parts of the email nested more than {MAX_DEPTH} deep were not read")
            continue
        forwarded = forwarded or (depth > 0 and item.content_type in MESSAGE_TYPES)
        # Never hold more parts than may still be read: a multipart can have thousands.
        dropped += max(0, len(children) - budget)
        for child in reversed(children[:budget]):
            stack.append((child, depth + 1, forwarded))
    if stack or dropped:
        add_defect(defects, f"more than {max_parts} MIME parts: the rest not read")
        unread = len(stack) + dropped
        _cut(
            cuts,
            f"{unread:,} more parts of the email (attachments) were not read "
            f"(we read at most {max_parts:,} parts an email)",
        )


def _cut(cuts: list[str] | None, text: str) -> None:
    if cuts is not None and text not in cuts:
        cuts.append(text)


def _children(part: Message, content_type: str, defects: list[str]) -> list[Message]:
    """The parts inside a multipart or an attached message; [] for a leaf."""
    if not content_type.startswith("multipart/") and content_type not in MESSAGE_TYPES:
        return []
    payload = part.get_payload()
    if not isinstance(payload, list):  # e.g. a multipart whose boundary never appears
        return []
    children = [child for child in payload if isinstance(child, Message)]
    encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
    if content_type in MESSAGE_TYPES and children and encoding == "base64":
        return _decode_attached(children[0], defects)
    return children


def _decode_attached(inner: Message, defects: list[str]) -> list[Message]:
    """An attached message sent base64-encoded, against RFC 2046: the library reads it as a
    message of base64 text with no headers. (Quoted-printable is left as the library reads it:
    its soft line breaks split header lines beyond repair.)"""
    try:
        data = base64.b64decode(message_bytes(inner))  # characters outside base64 are skipped
    except (ValueError, binascii.Error):
        add_defect(defects, "base64 attached message could not be decoded")
        return [inner]
    msg, complete = parse_mime(data, defects)
    return [msg] if complete and len(msg) else [inner]


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:  # a broken Content-Type header
        return "application/octet-stream"


def small_enough(msg: Message) -> bool:
    """Whether a message stays within MAX_PARTS parts and MAX_DEPTH levels."""
    stack = [(msg, 0)]
    for _ in range(MAX_PARTS):
        if not stack:
            return True
        part, depth = stack.pop()
        payload = part.get_payload()
        if isinstance(payload, list):
            if depth >= MAX_DEPTH:
                return False
            children = payload[:MAX_PARTS]
            stack.extend((child, depth + 1) for child in children if isinstance(child, Message))
    return not stack


# --- decoding a part -----------------------------------------------------------------------


def payload(part: Message) -> bytes:
    """The decoded content of a leaf part."""
    try:
        content = part.get_payload(decode=True)
    except Exception:  # broken transfer encoding beyond what the library recovers from
        content = None
    if isinstance(content, bytes):
        return content
    inner = part.get_payload()
    if isinstance(inner, list):  # report parts hold header blocks
        return b"\n".join(message_bytes(block) for block in inner if isinstance(block, Message))
    return str(inner).encode("utf-8", "surrogateescape") if inner else b""


def message_bytes(msg: Message) -> bytes:
    """An attached message as bytes, its headers kept as they came."""
    try:
        return msg.as_bytes(policy=_AS_RECEIVED)
    except Exception:  # the generator can trip on headers the parser let through
        return _message_bytes_leniently(msg)


def _message_bytes_leniently(msg: Message) -> bytes:
    try:
        return msg.as_bytes(policy=policy.compat32)
    except Exception:  # nothing sensible left to write
        return b""


def part_text(part: Message) -> str:
    """A text part's content as text, in its declared charset as far as that can be used."""
    try:
        charset = part.get_content_charset()
    except Exception:  # a broken Content-Type parameter
        charset = None
    return decode_text(payload(part), charset)


def decode_text(data: bytes, charset: str | None) -> str:
    """Bytes as text in their declared charset; undecodable bytes replaced, never an error.

    An unknown or unusable charset name falls back to UTF-8, then Windows-1252.
    """
    if charset and charset.lower() not in _ASCII_CHARSETS:
        try:
            return data.decode(charset, errors="replace")
        except (LookupError, UnicodeError, ValueError, TypeError):  # e.g. "idna", "base64"
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")
