"""Reading the Subject of a message from its header block, shared by the mailbox adapters."""

from __future__ import annotations

import re
from email import policy
from email.parser import BytesHeaderParser

_PARSER = BytesHeaderParser(policy=policy.default)
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


def decode_subject(header_block: bytes) -> str:
    """The Subject of `header_block`, RFC 2047 decoded and unfolded; "" when there is none."""
    try:
        value = _PARSER.parsebytes(header_block).get("subject")
    except Exception:  # a hostile header must not stop a scan
        value = None
    if value is None:
        return ""
    return _LINE_BREAKS.sub(" ", str(value)).strip()
