"""Text from a sender made safe to show: no terminal escapes, no control characters.

Form fields, names and subjects come from strangers. An ANSI or OSC escape sequence printed to a
terminal can recolour it, rewrite the screen, set the window title or plant a hyperlink; a CR or
LF in a header line starts a new header; bidirectional overrides make text read backwards.
Everything the bot writes out (emails) goes through `clean_line` / `clean_text` / `clean_value`,
and so should everything a command prints to a terminal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Whole escape sequences first (so that their printable tail does not survive): CSI, OSC (ended
# by BEL or ST), DCS/SOS/PM/APC strings, and two-character escapes. 8-bit C1 forms as well.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"  # CSI ... final byte
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC, DCS...
    r"|\x1b[ -/]*[0-~]?"  # ESC followed by a final character (or alone)
)
# C0 and C1 controls, DEL, and the invisible format characters that reorder or hide text.
_CONTROLS_IN_LINE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)
_CONTROLS_IN_TEXT = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)
_SPACES = re.compile(r"[ \t]{2,}")
_SURROGATES = re.compile(r"[\ud800-\udfff]")  # JSON's "\ud800", a file name's stray bytes


def clean_line(text: str) -> str:
    """`text` on one line, without escape sequences or control characters (for a header, a
    subject, a name, a table cell)."""
    if text.isprintable() and text.isascii():
        return text  # the common case, at C speed
    text = _SURROGATES.sub("\ufffd", _ESCAPES.sub("", text))
    return _SPACES.sub(" ", _CONTROLS_IN_LINE.sub(" ", text)).strip()


def clean_text(text: str) -> str:
    """`text` keeping its line breaks and tabs, without escape sequences or other control
    characters (for the body of an email, a multi-line note)."""
    if text.isascii() and not _CONTROLS_IN_TEXT.search(text):
        return text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ESCAPES.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _CONTROLS_IN_TEXT.sub("", text)


def clean_value(value: Any) -> Any:
    """A template context (or any value in it) with every string cleaned by `clean_text`;
    mappings, lists and tuples are cleaned throughout, anything else is kept as it is."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, Mapping):
        return {key: clean_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clean_value(item) for item in value]
    if isinstance(value, tuple):
        return tuple(clean_value(item) for item in value)
    return value
