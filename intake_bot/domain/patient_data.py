"""Patient data by accident: an NHS number in an email (DESIGN invariant 7).

An NHS number is ten digits whose last is a Modulus 11 check digit, written as one run
("9434765919") or in groups of 3-3-4 separated by spaces or dashes ("943 476 5919",
"943-476-5919", even mixed). A ten-digit run that fails the check (a contract reference, most
often) is not one. Digits that run on into more digits (an eleven-digit phone number) are not
looked at. The check itself is a maintained library's (`stdnum.gb.nhs.is_valid`), handed in by
the caller: the domain imports nothing but the standard library.

Only *where* a number was found is ever reported, never the number or the text around it: the
finding goes to logs, audit notes and staff views.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime

# Ten digits, in one run or grouped 3-3-4 by spaces or dashes, not touching further digits.
_SEP = r"[ \-\u00a0]?"
_CANDIDATE = re.compile(rf"(?<!\d)(\d{{3}}{_SEP}\d{{3}}{_SEP}\d{{4}})(?!\d)", re.ASCII)
_NOT_DIGIT = re.compile(r"\D", re.ASCII)
MAX_SCANNED_CHARS = 2_000_000  # a body longer than this is scanned up to here


NumberCheck = Callable[[str], bool]  # ten ASCII digits -> whether they are an NHS number


def holds_nhs_number(text: str, is_valid: NumberCheck) -> bool:
    """Whether `text` holds what passes the NHS number check `is_valid`."""
    text = text[:MAX_SCANNED_CHARS]
    if not text.isascii():  # full-width and other digits count as the digits they look like
        text = unicodedata.normalize("NFKC", text)
    return any(is_valid(_NOT_DIGIT.sub("", m.group(1))) for m in _CANDIDATE.finditer(text))


def _value_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, date | datetime | bool) or value is None:
        return ""
    return str(value)


def where_nhs_numbers_are(
    is_valid: NumberCheck,
    *,
    subject: str,
    body: str,
    forms: Iterable[tuple[str, Mapping[str, object]]] = (),
    texts: Iterable[tuple[str, str]] = (),
) -> list[str]:
    """Where an NHS number was found: "subject", "body", "<form source>: <field>" or
    "<file name>", each once, in that order. Empty when there is none.

    `forms`: (where the form came from, its values by field key); `texts`: (file name, the text
    a reader saw in it).
    """
    found: list[str] = []
    if holds_nhs_number(subject, is_valid):
        found.append("subject")
    if holds_nhs_number(body, is_valid):
        found.append("body")
    for source, values in forms:
        for key, value in values.items():
            if holds_nhs_number(_value_text(value), is_valid):
                found.append(f"{source}: {key}")
    for filename, text in texts:
        if holds_nhs_number(text, is_valid):
            found.append(filename)
    return list(dict.fromkeys(found))
