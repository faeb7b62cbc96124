"""MIME bytes -> a ParsedMessage: decoded headers, sender, text body, attachments, robot check.

Hostile input is expected (broken headers, endless nesting, unknown charsets): each header is
read on its own and falls back to its raw text (headers.py), the walk over parts is bounded in
number and depth (mime.py), and nothing but MessageParseError leaves `parse_message`.
"""

from __future__ import annotations

from collections.abc import Collection

from intake_bot.forms.contents import read_contents
from intake_bot.forms.headers import Headers, all_ids, first_id, parse_date
from intake_bot.forms.html_text import html_to_text
from intake_bot.forms.limits import DEFAULT_LIMITS, ReadLimits
from intake_bot.forms.mime import MAX_DEPTH, MAX_PARTS, decode_text, parse_mime
from intake_bot.forms.readings import Attachment, MessageParseError, ParsedMessage
from intake_bot.forms.robots import automated_reason, wants_no_auto_reply

# Imported from here by callers and tests from before the split into the modules above.
__all__ = [
    "MAX_DEPTH",
    "MAX_PARTS",
    "automated_reason",
    "decode_text",
    "html_to_text",
    "parse_message",
]

MAX_AUTHENTICATION_RESULTS = 10


def parse_message(
    raw: bytes, *, own_addresses: Collection[str] = (), limits: ReadLimits = DEFAULT_LIMITS
) -> ParsedMessage:
    """Read one email from its raw bytes.

    Raises MessageParseError, and nothing else, when the bytes are not an email at all.
    `own_addresses` are the bot's own addresses: mail from them counts as automated.
    What `limits` leave unread is named in `ParsedMessage.cut`.
    """
    try:
        return _parse(raw, own_addresses, limits)
    except MessageParseError:
        raise
    except Exception as exc:  # a gap in the defences must not block the mailbox
        raise MessageParseError(f"unreadable message ({type(exc).__name__})") from exc


def _parse(raw: bytes, own_addresses: Collection[str], limits: ReadLimits) -> ParsedMessage:
    raw = raw.lstrip(b"\r\n")  # a stray blank line would end the headers before they begin
    raw = _without_nul_in_headers(raw)
    if not raw.strip():
        raise MessageParseError("empty input")
    defects: list[str] = []
    cuts: list[str] = []
    attachments: list[Attachment] = []
    body = ""
    msg, complete = parse_mime(raw, defects, cuts)
    if len(msg) == 0:
        raise MessageParseError("no email headers found")
    headers = Headers(msg, defects)
    if complete:
        body, attachments = read_contents(msg, defects, cuts, limits)
    sender = headers.first_address("from")
    reply_to = headers.first_address("reply-to")
    authentication = msg.get_all("Authentication-Results") or ()
    return ParsedMessage(
        message_id=first_id(headers.raw("message-id")),
        subject=headers.text("subject") or "",
        from_addr=sender[0] if sender else "",
        from_name=sender[1] if sender else "",
        reply_to=reply_to[0] if reply_to else None,
        to=tuple(address for address, _ in headers.addresses("to")),
        date=parse_date(headers.raw("date")),
        in_reply_to=first_id(headers.raw("in-reply-to")),
        references=all_ids(headers.raw("references")),
        text_body=body,
        attachments=tuple(attachments),
        automated=automated_reason(msg, own_addresses),
        defects=tuple(defects),
        authentication=tuple(str(v) for v in authentication)[:MAX_AUTHENTICATION_RESULTS],
        wants_no_auto_reply=wants_no_auto_reply(headers),
        cut=tuple(cuts),
    )


def _without_nul_in_headers(raw: bytes) -> bytes:
    """NUL is never legal in a header (RFC 5322), and no database text column takes it: drop it
    there. The body is left as it came (its bytes are archived as they are anyway)."""
    end = min((i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0), default=len(raw))
    head = raw[:end]
    return head.replace(b"\x00", b"") + raw[end:] if b"\x00" in head else raw
