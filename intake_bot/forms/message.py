"""MIME bytes -> a ParsedMessage: decoded headers, sender, text body, attachments, robot check.

Hostile input is expected (broken headers, endless nesting, unknown charsets): each header is
read on its own and falls back to its raw text, the walk over parts is bounded in number and
depth, and nothing but MessageParseError leaves `parse_message`.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from itertools import islice
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, cast

from intake_bot.domain.subject import strip_prefixes
from intake_bot.forms.tnef import unpack_tnef
from intake_bot.forms.types import Attachment, MessageParseError, ParsedMessage

MAX_MESSAGE_BYTES = 40 * 1024 * 1024  # above this only the headers are read
# The library parses every part before we can stop it, at a fraction of a millisecond each:
# beyond this many part headers, only the message's own headers are read.
MAX_PART_HEADERS = 2_000
MAX_PARTS = 200
MAX_DEPTH = 20
MAX_HEADER_CHARS = 8_000  # longer values skip the structured parser, whose cost can explode
MAX_ADDRESS_HEADER_CHARS = 100_000  # and are read leniently up to this length
MAX_BODY_CHARS = 1_000_000
MAX_HTML_CHARS = 2_000_000
MAX_TNEF_PARTS = 2  # each may cost the TNEF time limit
MAX_REFERENCES = 100
MAX_DEFECTS = 50

OWN_HEADER = "X-Intake-Bot"  # stamped by the bot on everything it sends

_BODY_TYPES = ("text/plain", "text/html")
_MESSAGE_TYPES = ("message/rfc822", "message/global")
_TNEF_TYPES = ("application/ms-tnef", "application/vnd.ms-tnef")
_REPORT_TYPES = (
    "message/delivery-status",
    "message/global-delivery-status",
    "message/disposition-notification",
    "message/feedback-report",
)
_ASCII_CHARSETS = frozenset({"us-ascii", "ascii", "unknown-8bit", "x-unknown", "default"})
_MSG_ID = re.compile(r"<[^<>\s]+>")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LINESEP = re.compile(r"\n|\r\n?")
_FOLD = re.compile(r"[ \t]*[\r\n\t][\s]*")  # line breaks, and the tabs of folded lines


class _SafeHeaderRegistry(HeaderRegistry):
    """Header objects that are always built: what the structured parser cannot read, or should
    not be given because of its length, becomes plain text.

    The library parses Content-Type while it splits the parts, where no caller can catch a
    failure (thousands of nested comments raise RecursionError).
    """

    def __call__(self, name: str, value: str) -> BaseHeader:
        if len(value) > MAX_HEADER_CHARS:
            return _plain_header(name, value[:MAX_HEADER_CHARS])
        try:
            return super().__call__(name, value)
        except Exception:  # the structured parser fails in many ways on hostile input
            return _plain_header(name, value)


class _PlainHeader(UnstructuredHeader, BaseHeader):  # as HeaderRegistry builds its classes
    pass


def _plain_header(name: str, value: str) -> BaseHeader:
    return cast(BaseHeader, _PlainHeader(name, value))


# The structure is parsed with the classic policy, whose headers stay plain text: the modern
# one builds a header object at every look-up (about 30 a message, half of the parse time).
# The few headers we read are built on demand by _HEADER_FACTORY, exactly as policy.default
# would build them.
_STRUCTURE = policy.compat32
_HEADER_FACTORY = _SafeHeaderRegistry()
# Attached messages are written out with their headers exactly as received.
_AS_RECEIVED = policy.compat32.clone(max_line_length=0)


def parse_message(raw: bytes, *, own_addresses: Collection[str] = ()) -> ParsedMessage:
    """Read one email from its raw bytes.

    Raises MessageParseError, and nothing else, when the bytes are not an email at all.
    `own_addresses` are the bot's own addresses: mail from them counts as automated.
    """
    try:
        return _parse(raw, own_addresses)
    except MessageParseError:
        raise
    except Exception as exc:  # a gap in the defences must not block the mailbox
        raise MessageParseError(f"unreadable message ({type(exc).__name__})") from exc


def _parse(raw: bytes, own_addresses: Collection[str]) -> ParsedMessage:
    raw = raw.lstrip(b"\r\n")  # a stray blank line would end the headers before they begin
    if not raw.strip():
        raise MessageParseError("empty input")
    defects: list[str] = []
    attachments: list[Attachment] = []
    body = ""
    msg, complete = _parse_mime(raw, defects)
    if len(msg) == 0:
        raise MessageParseError("no email headers found")
    headers = _Headers(msg, defects)
    if complete:
        body, attachments = _read_contents(msg, defects)
    sender = headers.addresses("from")
    reply_to = headers.addresses("reply-to")
    return ParsedMessage(
        message_id=_first_id(headers.raw("message-id")),
        subject=headers.text("subject") or "",
        from_addr=sender[0][0] if sender else "",
        from_name=sender[0][1] if sender else "",
        reply_to=reply_to[0][0] if reply_to else None,
        to=tuple(address for address, _ in headers.addresses("to")),
        date=_date(headers.raw("date")),
        in_reply_to=_first_id(headers.raw("in-reply-to")),
        references=_all_ids(headers.raw("references")),
        text_body=body,
        attachments=tuple(attachments),
        automated=automated_reason(msg, own_addresses),
        defects=tuple(defects),
        authentication=tuple(str(v) for v in (msg.get_all("Authentication-Results") or ()))[:10],
        wants_no_auto_reply=bool(_SUPPRESS.search(headers.raw("x-auto-response-suppress") or "")),
    )


def _parse_mime(raw: bytes, defects: list[str]) -> tuple[Message, bool]:
    """The parsed message, and whether its parts were parsed (else only its headers)."""
    reason = _too_large(raw)
    if reason is None:
        try:
            return BytesParser(policy=_STRUCTURE).parsebytes(raw), True
        except Exception as exc:  # e.g. RecursionError on parts nested a thousand deep
            reason = f"MIME structure unreadable ({type(exc).__name__})"
    _add_defect(defects, f"{reason}: body and attachments not read")
    return BytesParser(policy=_STRUCTURE).parsebytes(raw, headersonly=True), False


def _too_large(raw: bytes) -> str | None:
    """Why the body of this message is not to be parsed at all, if it is not."""
    if len(raw) > MAX_MESSAGE_BYTES:
        return f"message over {MAX_MESSAGE_BYTES} bytes"
    part_headers = _PART_HEADER.finditer(raw)
    if next(islice(part_headers, MAX_PART_HEADERS, None), None) is not None:
        return f"more than {MAX_PART_HEADERS} MIME parts"
    return None


_PART_HEADER = re.compile(rb"^content-type:", re.IGNORECASE | re.MULTILINE)


def _add_defect(defects: list[str], defect: str) -> None:
    if defect not in defects and len(defects) < MAX_DEFECTS:
        defects.append(defect)


# --- headers -------------------------------------------------------------------------------


class _Headers:
    """Header values read one at a time, each falling back to its raw text when unparseable."""

    def __init__(self, msg: Message, defects: list[str]) -> None:
        self._msg = msg
        self._defects = defects
        self._raw: dict[str, str] = {}
        for name, value in msg.raw_items():
            self._raw.setdefault(name.lower(), str(value))

    @staticmethod
    def _structured(name: str, value: str) -> Any:
        """The header object policy.default would give for `value` (unfolded first, as it does)."""
        return _HEADER_FACTORY(name, "".join(_LINESEP.split(value)))

    def has(self, name: str) -> bool:
        return name.lower() in self._raw

    def raw(self, name: str) -> str | None:
        """The first value, unfolded, without decoding encoded words."""
        value = self._raw.get(name.lower())
        return None if value is None else _one_line(_undo_escapes(value))

    def text(self, name: str) -> str | None:
        """The first value with RFC 2047 encoded words decoded."""
        value = self._raw.get(name.lower())
        if value is None:
            return None
        if len(value) > MAX_HEADER_CHARS:  # _SafeHeaderRegistry cuts it
            _add_defect(self._defects, f"{name} header over {MAX_HEADER_CHARS} characters: cut")
        try:
            return _one_line(_undo_escapes(str(self._structured(name, value))))
        except Exception:  # not expected with _SafeHeaderRegistry, but never fatal
            _add_defect(self._defects, f"unreadable {name} header: raw text kept")
            return _one_line(_undo_escapes(value[:MAX_HEADER_CHARS]))

    def addresses(self, name: str) -> list[tuple[str, str]]:
        """(bare address lower-cased, display name) for each address in the first such header."""
        value = self._raw.get(name.lower())
        if value is None:
            return []
        if len(value) <= MAX_HEADER_CHARS:
            try:
                header: Any = self._structured(name, value)  # an AddressHeader
                found = [(a.addr_spec, a.display_name) for a in header.addresses]
                return [
                    (_undo_escapes(spec).lower(), _undo_escapes(shown))
                    for spec, shown in found
                    if spec
                ]
            except Exception:  # not an address list to the structured parser (AttributeError)
                _add_defect(self._defects, f"unreadable {name} header: read leniently")
        else:
            _add_defect(self._defects, f"{name} header over {MAX_HEADER_CHARS} characters")
        try:
            pairs = getaddresses([_one_line(_undo_escapes(value[:MAX_ADDRESS_HEADER_CHARS]))])
        except Exception:  # e.g. RecursionError on thousands of nested comments
            _add_defect(self._defects, f"unreadable {name} header: no address kept")
            return []
        return [(spec.lower(), _decode_words(shown)) for shown, spec in pairs if spec]


def _undo_escapes(value: str) -> str:
    """Raw header text keeps 8-bit bytes as surrogates; read them as UTF-8 (RFC 6532)."""
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeError:
        return value.encode("utf-8", "replace").decode("utf-8")


def _decode_words(value: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except Exception:  # unknown charset or broken encoded word: keep the text as it is
        return value


def _one_line(value: str) -> str:
    return _FOLD.sub(" ", value).strip()


def _first_id(value: str | None) -> str | None:
    if not value:
        return None
    match = _MSG_ID.search(value)
    return match.group(0) if match else value.strip() or None


def _all_ids(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    ids = _MSG_ID.findall(value) or value.split()
    return tuple(ids[-MAX_REFERENCES:])  # the most recent ones matter for threading


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
        # A date without a zone ("-0000") is taken as UTC.
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except Exception:  # ValueError, OverflowError and friends on nonsense dates
        return None


# --- parts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    part: Message
    content_type: str
    depth: int
    forwarded: bool  # inside an attached message
    children: list[Message]  # [] for a leaf


def _walk(msg: Message, defects: list[str]) -> Iterator[_Part]:
    """Every part in document order, within MAX_PARTS parts and MAX_DEPTH levels."""
    stack: list[tuple[Message, int, bool]] = [(msg, 0, False)]  # part, depth, forwarded
    for budget in range(MAX_PARTS, 0, -1):
        if not stack:
            return
        part, depth, forwarded = stack.pop()
        content_type = _content_type(part)
        children = _children(part, content_type, defects)
        item = _Part(part, content_type, depth, forwarded, children)
        yield item
        if children and depth >= MAX_DEPTH:
            _add_defect(defects, f"MIME parts nested deeper than {MAX_DEPTH}: not read")
            continue
        forwarded = forwarded or (depth > 0 and item.content_type in _MESSAGE_TYPES)
        # Never hold more parts than may still be read: a multipart can have thousands.
        for child in reversed(children[:budget]):
            stack.append((child, depth + 1, forwarded))
    if stack:
        _add_defect(defects, f"more than {MAX_PARTS} MIME parts: the rest not read")


def _children(part: Message, content_type: str, defects: list[str]) -> list[Message]:
    """The parts inside a multipart or an attached message; [] for a leaf."""
    if not content_type.startswith("multipart/") and content_type not in _MESSAGE_TYPES:
        return []
    payload = part.get_payload()
    if not isinstance(payload, list):  # e.g. a multipart whose boundary never appears
        return []
    children = [child for child in payload if isinstance(child, Message)]
    encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
    if content_type in _MESSAGE_TYPES and children and encoding == "base64":
        return _decode_attached(children[0], defects)
    return children


def _decode_attached(inner: Message, defects: list[str]) -> list[Message]:
    """An attached message sent base64-encoded, against RFC 2046: the library reads it as a
    message of base64 text with no headers. (Quoted-printable is left as the library reads it:
    its soft line breaks split header lines beyond repair.)"""
    try:
        data = base64.b64decode(_message_bytes(inner))  # characters outside base64 are skipped
    except (ValueError, binascii.Error):
        _add_defect(defects, "base64 attached message could not be decoded")
        return [inner]
    msg, complete = _parse_mime(data, defects)
    return [msg] if complete and len(msg) else [inner]


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:  # a broken Content-Type header
        return "application/octet-stream"


@dataclass
class _Contents:
    """What the walk finds: body text and attachments."""

    defects: list[str]
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    made_up_names: int = 0
    forwarded: int = 0
    tnef_parts: int = 0

    def add(self, item: _Part) -> None:
        for defect in item.part.defects:
            _add_defect(self.defects, type(defect).__name__)
        if item.depth > 0 and item.content_type in _MESSAGE_TYPES:
            # A message forwarded inside another is already in that one's bytes.
            if not item.forwarded:
                self._add_forwarded(item)
        elif not item.children:
            self._add_leaf(item)

    def _add_forwarded(self, item: _Part) -> None:
        self.forwarded += 1
        name = _safe_filename(item.part)
        if not name or not name.lower().endswith(".eml"):
            name = f"forwarded-{self.forwarded}.eml"
        inner = item.children
        if inner and not _small_enough(inner[0]):
            # Writing it out would walk every part again, past the limits this walk keeps.
            _add_defect(self.defects, "forwarded message too large or deep to keep as a file")
            return
        data = _message_bytes(inner[0]) if inner else _payload(item.part)
        self.attachments.append(Attachment(name, "message/rfc822", data))

    def _add_leaf(self, item: _Part) -> None:
        name = _safe_filename(item.part)
        disposition = _disposition(item.part)
        if not name and disposition != "attachment" and item.content_type in _BODY_TYPES:
            if not item.forwarded:  # the forwarded message's own text is not this body
                text = _text(item.part)
                (self.plain if item.content_type == "text/plain" else self.html).append(text)
            return
        if not name and disposition != "attachment" and item.content_type.startswith("text/"):
            return  # calendar items, report headers and other text that is no file
        data = _payload(item.part)
        if _is_tnef(item.content_type, name) and self._unpack_tnef(data):
            return
        if not name:
            self.made_up_names += 1
            name = f"attachment-{self.made_up_names}{_extension(item.content_type)}"
        inline = disposition == "inline"
        self.attachments.append(Attachment(name, item.content_type, data, inline=inline))

    def _unpack_tnef(self, data: bytes) -> bool:
        """Add the files inside a winmail.dat; False to keep the winmail.dat itself instead."""
        if self.tnef_parts >= MAX_TNEF_PARTS:
            return False
        self.tnef_parts += 1
        inside = unpack_tnef(data)
        if not inside:
            _add_defect(self.defects, "winmail.dat could not be unpacked: kept as it is")
        self.attachments.extend(inside)
        return bool(inside)

    def body(self) -> str:
        if self.plain:
            text = "\n".join(self.plain)
        else:
            text = "\n".join(html_to_text(html) for html in self.html)
        if len(text) > MAX_BODY_CHARS:
            _add_defect(self.defects, f"body over {MAX_BODY_CHARS} characters: cut short")
        return text[:MAX_BODY_CHARS]


def _read_contents(msg: Message, defects: list[str]) -> tuple[str, list[Attachment]]:
    contents = _Contents(defects)
    for item in _walk(msg, defects):
        contents.add(item)
    return contents.body(), contents.attachments


def _safe_filename(part: Message) -> str | None:
    """The part's file name (RFC 2231 and 2047 decoded), without any folder path."""
    try:
        name = part.get_filename()
    except Exception:  # a broken Content-Disposition: treat as unnamed
        return None
    if not name:
        return None
    if "=?" in name:  # encoded words inside quotes: wrong by the RFCs, common in practice
        name = _decode_words(name)
    # Some clients send the sender's full path; never let a path through.
    name = PureWindowsPath(PurePosixPath(_CONTROL.sub("", name)).name).name.strip()
    return name if name not in ("", ".", "..") else None


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:  # a broken Content-Disposition header
        return None


def _is_tnef(content_type: str, name: str | None) -> bool:
    return content_type in _TNEF_TYPES or (name or "").lower() == "winmail.dat"


def _extension(content_type: str) -> str:
    if content_type.startswith("message/") or content_type == "text/plain":
        return ".txt"
    return mimetypes.guess_extension(content_type) or ".bin"


def _payload(part: Message) -> bytes:
    """The decoded content of a leaf part."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # broken transfer encoding beyond what the library recovers from
        payload = None
    if isinstance(payload, bytes):
        return payload
    inner = part.get_payload()
    if isinstance(inner, list):  # report parts hold header blocks
        return b"\n".join(_message_bytes(block) for block in inner if isinstance(block, Message))
    return str(inner).encode("utf-8", "surrogateescape") if inner else b""


def _small_enough(msg: Message) -> bool:
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


def _message_bytes(msg: Message) -> bytes:
    """An attached message as bytes, its headers kept as they came."""
    try:
        return msg.as_bytes(policy=_AS_RECEIVED)
    except Exception:  # the generator can trip on headers the parser let through
        return _message_bytes_leniently(msg)


def _message_bytes_leniently(msg: Message) -> bytes:
    try:
        return msg.as_bytes(policy=compat32)
    except Exception:  # nothing sensible left to write
        return b""


def _text(part: Message) -> str:
    try:
        charset = part.get_content_charset()
    except Exception:  # a broken Content-Type parameter
        charset = None
    return decode_text(_payload(part), charset)


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


# --- HTML ----------------------------------------------------------------------------------


class _HtmlText(HTMLParser):
    """Readable text from HTML: block elements become lines, table cells are split by tabs.

    Inside a cell, blocks become spaces, so that a two-column table of labels and values
    (Outlook wraps every cell in a paragraph) reads as "label<tab>value" lines.
    """

    _SKIP = frozenset({"script", "style", "head", "title", "template"})
    _BLOCKS = frozenset(  # a blank line before and after
        {"p", "div", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
        | {"pre", "hr", "section", "article", "header", "footer"}
    )
    _LINES = frozenset({"br", "tr", "li", "dt", "dd"})  # a line of their own

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skipping = 0
        self._cells = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in ("td", "th"):
            self._cells += 1
            self.chunks.append("\t")
        elif tag in self._BLOCKS or tag in self._LINES:
            self._break(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in ("td", "th"):
            self._cells = max(0, self._cells - 1)
        elif tag in self._BLOCKS:
            self._break(tag)

    def _break(self, tag: str) -> None:
        inside_cell = self._cells and tag not in ("tr", "table")
        self.chunks.append(" " if inside_cell else "\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.chunks.append(data)


_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"[ \f\v\u00a0]+")
_CELL_GAP = re.compile(r" *\t[ \t]*")


def html_to_text(html: str) -> str:
    """The text of an HTML body, one line per paragraph, row or line break."""
    html = html[:MAX_HTML_CHARS]
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
        text = "".join(parser.chunks)
    except Exception:  # html.parser can fail on broken declarations: fall back to bare tags
        text = _TAG.sub(" ", html)
    lines = (_CELL_GAP.sub("\t", _SPACES.sub(" ", line)).strip(" \t") for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- automated mail (RFC 3834 and common practice) -----------------------------------------

_AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
_SUPPRESS = re.compile(r"\b(?:all|oof|autoreply)\b", re.IGNORECASE)
_FALSE = frozenset({"no", "false", "0", "off"})
_ROBOT_LOCALPART = re.compile(
    r"^(?:mailer-daemon|post_?master|bounces?|mail-?daemon)(?:[+\-=].*)?$"
    r"|(?:^|[-_.+])(?:no-?reply|do-?not-?reply|donotreply|noreply)(?:$|[-_.+=])",
    re.IGNORECASE,
)
_ROBOT_SUBJECT = re.compile(
    r"^(?:automatic\s+reply|auto(?:matic)?[\s-]?(?:reply|response|answer)|autoreply"
    r"|out\s+of\s+(?:the\s+)?office|undeliver(?:able|ed)|delivery\s+status\s+notification"
    r"|returned\s+mail|mail\s+delivery\s+(?:failed|failure|system|subsystem)"
    r"|delivery\s+(?:failure|failed|has\s+failed|notification|delayed|report)"
    r"|failure\s+notice|non[\s-]?delivery|message\s+not\s+delivered|warning:\s+could\s+not"
    r"|abwesenheitsnotiz|automatische\s+antwort|r[ée]ponse\s+automatique"
    r"|respuesta\s+autom[áa]tica|risposta\s+automatica)",
    re.IGNORECASE,
)


def automated_reason(msg: Message, own_addresses: Collection[str]) -> str | None:
    """Why `msg` looks sent by a machine rather than a person, or None.

    The bot must not answer auto-replies, bounces, reports, mailing lists, no-reply senders or
    its own mail (RFC 3834 Auto-Submitted, Precedence, DSNs, X-Auto-Response-Suppress, ...).
    """
    headers = _Headers(msg, [])
    sender = next((address for address, _ in headers.addresses("from")), "")
    return (
        _own_mail(headers, sender, own_addresses)
        or _auto_headers(headers)
        or _report(msg)
        or _robot_sender(sender)
        or _robot_subject(headers.text("subject") or "")
    )


def _own_mail(headers: _Headers, sender: str, own_addresses: Collection[str]) -> str | None:
    if headers.has(OWN_HEADER):
        return f"sent by this bot ({OWN_HEADER})"
    if sender and sender in {address.strip().lower() for address in own_addresses}:
        return "sent from the bot's own address"
    return None


def _auto_headers(headers: _Headers) -> str | None:
    auto = (headers.raw("auto-submitted") or "").split(";")[0].strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto[:40]}"
    precedence = (headers.raw("precedence") or "").strip().lower()
    if precedence in _AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond"):
        value = headers.raw(name)
        if value is not None and value.strip().lower() not in _FALSE:
            return f"{name} header"
    if headers.has("list-id") or headers.has("list-unsubscribe"):
        return "mailing list (List-Id/List-Unsubscribe)"
    if re.fullmatch(r"<\s*>", headers.raw("return-path") or ""):
        return "empty Return-Path (a bounce)"
    return None


def _report(msg: Message) -> str | None:
    for item in _walk(msg, []):
        report = item.content_type == "multipart/report" or item.content_type in _REPORT_TYPES
        if report and not item.forwarded:  # a person may forward a bounce
            return f"delivery or read report ({item.content_type})"
    return None


def _robot_sender(sender: str) -> str | None:
    localpart = sender.rpartition("@")[0] or sender
    if _ROBOT_LOCALPART.search(localpart):
        return f"sent from a robot address ({localpart[:40]})"
    return None


def _robot_subject(subject: str) -> str | None:
    match = _ROBOT_SUBJECT.match(strip_prefixes(subject))
    return f"subject starts {match.group(0)!r}" if match else None
