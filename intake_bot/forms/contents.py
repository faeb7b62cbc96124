"""What a message's parts amount to: its text body and its attachments.

The body is the plain text, or text made from the HTML when there is no plain part. Every other
leaf is an attachment with a safe file name (one is made up when missing); winmail.dat is
unpacked into the files inside it, and an attached message is kept whole as an .eml.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass, field
from email.message import Message
from pathlib import PurePosixPath, PureWindowsPath

from intake_bot.forms.defects import add_defect
from intake_bot.forms.headers import decode_words
from intake_bot.forms.html_text import MAX_HTML_CHARS, html_to_text
from intake_bot.forms.limits import DEFAULT_LIMITS, ReadLimits
from intake_bot.forms.mime import (
    MESSAGE_TYPES,
    Part,
    message_bytes,
    part_text,
    payload,
    small_enough,
    walk,
)
from intake_bot.forms.readings import Attachment
from intake_bot.forms.tnef import unpack_tnef

MAX_BODY_CHARS = 1_000_000
MAX_TNEF_PARTS = 2  # each may cost the TNEF time limit

_BODY_TYPES = ("text/plain", "text/html")
_TNEF_TYPES = ("application/ms-tnef", "application/vnd.ms-tnef")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def read_contents(
    msg: Message,
    defects: list[str],
    cuts: list[str] | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> tuple[str, list[Attachment]]:
    """The text body and the attachments of a parsed message; what a limit left unread is
    added to `cuts` (for the sender and staff) as well as to `defects` (staff only)."""
    contents = _Contents(defects, [] if cuts is None else cuts)
    for item in walk(msg, defects, max_parts=limits.parts_per_email, cuts=cuts):
        contents.add(item)
    return contents.body(), contents.attachments


@dataclass
class _Contents:
    """What the walk finds: body text and attachments."""

    defects: list[str]
    cuts: list[str]
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    made_up_names: int = 0
    forwarded: int = 0
    tnef_parts: int = 0

    def add(self, item: Part) -> None:
        for defect in item.part.defects:
            add_defect(self.defects, type(defect).__name__)
        if item.depth > 0 and item.content_type in MESSAGE_TYPES:
            # A message forwarded inside another is already in that one's bytes.
            if not item.forwarded:
                self._add_forwarded(item)
        elif not item.children:
            self._add_leaf(item)

    def _add_forwarded(self, item: Part) -> None:
        self.forwarded += 1
        name = _safe_filename(item.part)
        if not name or not name.lower().endswith(".eml"):
            name = f"forwarded-{self.forwarded}.eml"
        inner = item.children
        if inner and not small_enough(inner[0]):
            # Writing it out would walk every part again, past the limits this walk keeps.
            add_defect(self.defects, "forwarded message too large or deep to keep as a file")
            return
        data = message_bytes(inner[0]) if inner else payload(item.part)
        self.attachments.append(Attachment(name, "message/rfc822", data))

    def _add_leaf(self, item: Part) -> None:
        name = _safe_filename(item.part)
        disposition = _disposition(item.part)
        if not name and disposition != "attachment" and item.content_type in _BODY_TYPES:
            if not item.forwarded:  # the forwarded message's own text is not this body
                text = part_text(item.part)
                (self.plain if item.content_type == "text/plain" else self.html).append(text)
            return
        if not name and disposition != "attachment" and item.content_type.startswith("text/"):
            return  # calendar items, report headers and other text that is no file
        data = payload(item.part)
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
            add_defect(self.defects, "winmail.dat could not be unpacked: kept as it is")
        self.attachments.extend(inside)
        return bool(inside)

    def body(self) -> str:
        if self.plain:
            text = "\n".join(self.plain)
        else:
            if any(len(html) > MAX_HTML_CHARS for html in self.html):
                limit = f"{MAX_HTML_CHARS:,}"
                self.cuts.append(
                    f"the text of the email after {limit} characters of HTML was not read"
                )
            text = "\n".join(html_to_text(html) for html in self.html)
        if len(text) > MAX_BODY_CHARS:
            add_defect(self.defects, f"body over {MAX_BODY_CHARS} characters: cut short")
            self.cuts.append(
                f"the text of the email after {MAX_BODY_CHARS:,} characters was not read"
            )
        return text[:MAX_BODY_CHARS]


def _safe_filename(part: Message) -> str | None:
    """The part's file name (RFC 2231 and 2047 decoded), without any folder path."""
    try:
        name = part.get_filename()
    except Exception:  # a broken Content-Disposition: treat as unnamed
        return None
    if not name:
        return None
    if "=?" in name:  # encoded words inside quotes: wrong by the RFCs, common in practice
        name = decode_words(name)
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
