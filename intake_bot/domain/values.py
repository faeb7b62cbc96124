"""Readers for one raw form value each: text as typed, a checkbox or a real date to a typed value.

Each parser returns the typed value or raises `ValueProblem`, which says what was expected; the
validator turns that into a problem for the sender. Values are read as people really write them
(FORM.md, "Values, as people really write them").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime

from email_validator import EmailNotValidError, validate_email

from intake_bot.domain.fields import PURPOSES, Choice, normalise_label
from intake_bot.domain.rawform import RawValue

DATE_EXPECTED = "a date in UK order, e.g. 31/03/2017"
YES_NO_EXPECTED = "yes or no"
ODS_EXPECTED = "an ODS code of 3 to 6 letters and digits, e.g. 00C or RX1"
EMAIL_EXPECTED = "an email address, e.g. jane.smith@nhs.net"
REFERENCE_EXPECTED = "the reference of the relationship, e.g. LCR-000123"
PURPOSES_EXPECTED = "one or more of " + "; ".join(c.label for c in PURPOSES)
TEXT_EXPECTED = "text"


class ValueProblem(ValueError):  # noqa: N818 - a problem for the sender, not a program error
    """A raw value that cannot be read as its kind of value."""

    def __init__(self, expected: str, found: str | None = None) -> None:
        super().__init__(expected)
        self.expected = expected  # what is expected, as told to the sender
        self.found = found  # the part at fault when it is not the whole value (one list item)


# --- blanks and display ---------------------------------------------------------------------

# Written where a field does not apply or is not known yet; never a real value.
_PLACEHOLDERS = frozenset(
    {"n/a", "n / a", "n.a.", "n.a", "not applicable", "none", "nil", "tbc", "tba",
     "to be confirmed", "-", "--", "–", "—"}
)  # fmt: skip


def is_blank(raw: RawValue) -> bool:
    """Nothing there: no value, or text of only spaces. An unticked checkbox is not blank."""
    return raw is None or (isinstance(raw, str) and not raw.strip())


def is_placeholder(raw: RawValue) -> bool:
    """Text such as `N/A`, `TBC` or `-` that stands for "no value"."""
    return isinstance(raw, str) and " ".join(raw.split()).casefold() in _PLACEHOLDERS


def display(raw: RawValue, limit: int = 80) -> str:
    """A raw value as it is quoted back to a person: one line, dates in UK order."""
    if isinstance(raw, bool):
        return "☒" if raw else "☐"
    if isinstance(raw, datetime | date):
        return f"{raw:%d/%m/%Y}"
    text = " ".join((raw or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _text(raw: RawValue, expected: str) -> str:
    """The raw value as stripped text; a checkbox or a date where text belongs is a problem."""
    if not isinstance(raw, str):
        raise ValueProblem(expected)
    text = raw.strip()
    if not text:
        raise ValueProblem(expected)
    return text


# --- text -----------------------------------------------------------------------------------


def parse_text(raw: RawValue, expected: str = TEXT_EXPECTED) -> str:
    """One line of text: trimmed, runs of spaces and line breaks made one space."""
    return " ".join(_text(raw, expected).split())


def parse_long_text(raw: RawValue, expected: str = TEXT_EXPECTED) -> str:
    """Free text: trimmed, line breaks kept (Windows line ends made plain)."""
    return _text(raw, expected).replace("\r\n", "\n")


_RELATIONSHIP_REF = re.compile(r"lcr\s*[-_/.:]?\s*(\d{1,6})", re.IGNORECASE)


def parse_relationship_ref(raw: RawValue) -> str:
    """A relationship reference: `LCR-000123`, also `lcr 123` or `LCR123`."""
    match = _RELATIONSHIP_REF.fullmatch(_text(raw, REFERENCE_EXPECTED))
    if match is None:
        raise ValueProblem(REFERENCE_EXPECTED)
    return f"LCR-{int(match[1]):06d}"


# --- yes/no ---------------------------------------------------------------------------------

_YES = frozenset({"yes", "y", "true", "x", "✓", "✔", "☒", "☑"})
_NO = frozenset({"no", "n", "false", "☐"})


def parse_yes_no(raw: RawValue) -> bool:
    """Yes or no: yes, y, true, x, a tick or ticked box; no, n, false, an empty box.

    Blank text is not "no": the caller treats it as missing (see `is_blank`).
    """
    if isinstance(raw, bool):
        return raw
    # U+FE0F asks for the emoji form of a tick; it is not part of the answer.
    text = _text(raw, YES_NO_EXPECTED).replace("\ufe0f", "").casefold().rstrip(".")
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ValueProblem(YES_NO_EXPECTED)


# --- dates ----------------------------------------------------------------------------------

_MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
_MONTHS = (
    {name: i for i, name in enumerate(_MONTH_NAMES, 1)}
    | {name[:3]: i for i, name in enumerate(_MONTH_NAMES, 1)}
    | {"sept": 9}
)
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAYS = (
    {name: i for i, name in enumerate(_DAY_NAMES)}
    | {name[:3]: i for i, name in enumerate(_DAY_NAMES)}
    | {"tues": 1, "thur": 3, "thurs": 3}
)

_NUMERIC_DATE = re.compile(r"(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4}|\d{2})")
# Year first is never year-day-month, so it is not a guess; exports may add a time of day.
_ISO_DATE = re.compile(
    r"(\d{4})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{1,2})"
    r"(?:[ t]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
)
_WORDY_DATE = re.compile(
    r"(?:(?P<weekday>[a-z]+)\.?,?\s+)?"
    r"(?P<day>\d{1,2})(?:st|nd|rd|th)?[\s/.-]*(?:of\s+)?"
    r"(?P<month>[a-z]+)\.?,?[\s/.-]*(?P<year>\d{4}|\d{2})"
)
_YEARS = range(1900, 2200)  # outside this, a year is a slip of the keyboard (0217, 20177)


def parse_date(raw: RawValue) -> date:
    """A date in UK order, or a real date from Excel or Word.

    `31/03/2017`, `31-03-2017`, `31.03.17`, `31 March 2017`, `31 Mar 2017`, `31st March 2017`,
    `Friday, 31 March 2017` and `2017-03-31` are all read; a two-digit year is 20yy. `03/31/2017` is
    a problem, never a guess at American order.
    """
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = _text(raw, DATE_EXPECTED).casefold()
    if match := _NUMERIC_DATE.fullmatch(text):
        return _make_date(match[3], match[2], match[1])
    if match := _ISO_DATE.fullmatch(text):
        return _make_date(match[1], match[2], match[3])
    if match := _WORDY_DATE.fullmatch(text):
        return _wordy_date(match)
    raise ValueProblem(DATE_EXPECTED)


def _make_date(year: str, month: str | int, day: str) -> date:
    y = int(year) + (2000 if len(year) <= 2 else 0)  # two digits: this century
    if y not in _YEARS:
        raise ValueProblem(DATE_EXPECTED)
    try:
        return date(y, int(month), int(day))
    except ValueError:
        raise ValueProblem(DATE_EXPECTED) from None


def _wordy_date(match: re.Match[str]) -> date:
    month = _MONTHS.get(match["month"])
    if month is None:
        raise ValueProblem(DATE_EXPECTED)
    result = _make_date(match["year"], month, match["day"])
    if match["weekday"] is not None:
        weekday = _WEEKDAYS.get(match["weekday"])
        if weekday is None:
            raise ValueProblem(DATE_EXPECTED)
        if weekday != result.weekday():
            day_name = _DAY_NAMES[result.weekday()].capitalize()
            raise ValueProblem(f"{DATE_EXPECTED} ({result:%d %B %Y} is a {day_name})")
    return result


# --- codes and addresses --------------------------------------------------------------------

_ODS = re.compile(r"[A-Z0-9]{3,6}")


def parse_ods(raw: RawValue) -> str:
    """An ODS code: trimmed and upper-cased, 3 to 6 letters and digits (`00C`, `RX1`, `A81001`)."""
    code = _text(raw, ODS_EXPECTED).upper()
    if not _ODS.fullmatch(code):
        raise ValueProblem(ODS_EXPECTED)
    return code


def parse_email(raw: RawValue) -> str:
    """An email address, checked for syntax only (no network) and normalised (lower-case domain).

    `Jane Smith <jane@nhs.net>` and `mailto:jane@nhs.net`, as pasted from a mail program, are read.
    """
    text = _text(raw, EMAIL_EXPECTED)
    if bracketed := re.fullmatch(r".*<([^<>]+)>", text, re.DOTALL):
        text = bracketed[1].strip()
    text = re.sub(r"^mailto:", "", text, flags=re.IGNORECASE)
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValueProblem(EMAIL_EXPECTED) from None


def email_domain_allowed(address: str, allowed: Sequence[str]) -> bool:
    """Whether the address's domain is in `allowed` or under one: `nhs.net` allows `x.nhs.net`."""
    domain = address.rpartition("@")[2].casefold()
    for entry in allowed:
        suffix = entry.casefold().lstrip("@.")
        if domain == suffix or domain.endswith("." + suffix):
            return True
    return False


# --- lists and choices ----------------------------------------------------------------------

_LIST_SEPARATORS = re.compile(r"[,;\n\r]+")
_BULLET = re.compile(r"^(?:[•·▪◦]\s*|[-*–]\s+|\d{1,2}[.)]\s+)")


def split_list(text: str) -> list[str]:
    """Items separated by commas, semicolons or new lines: trimmed, bullets dropped, no blanks,
    no repeats (ignoring case), in the order written."""
    items: list[str] = []
    seen: set[str] = set()
    for piece in _LIST_SEPARATORS.split(text):
        item = " ".join(_BULLET.sub("", piece.strip()).split())
        if item and item.casefold() not in seen:
            seen.add(item.casefold())
            items.append(item)
    return items


def parse_list(raw: RawValue, expected: str = TEXT_EXPECTED) -> list[str]:
    """A list field (see `split_list`); a list with no items is a problem."""
    items = split_list(_text(raw, expected))
    if not items:
        raise ValueProblem(expected)
    return items


def _choice_key(text: str) -> str:
    # "Midlands & East" and "Midlands and East" are the same office.
    return normalise_label(re.sub(r"[&+]", " and ", text))


def match_choice(text: str, choices: Sequence[Choice]) -> Choice | None:
    """The choice whose value, label or alias `text` is, ignoring case, spacing and punctuation."""
    key = _choice_key(text)
    for choice in choices:
        names = (choice.value, choice.label, *choice.aliases)
        if any(_choice_key(name) == key for name in names):
            return choice
    return None


def parse_choice(raw: RawValue, choices: Sequence[Choice], expected: str) -> str:
    """The stored value of the choice that `raw` names."""
    choice = match_choice(_text(raw, expected), choices)
    if choice is None:
        raise ValueProblem(expected)
    return choice.value


# Words people add around a regional office's name: "DSCRO North", "London region".
_OFFICE_NOISE = re.compile(
    r"\b(?:nhs\s+england|dscro|dsfc|regional\s+office|region|office)\b", re.IGNORECASE
)


def parse_dscro(
    raw: RawValue, offices: Sequence[str], aliases: Mapping[str, Sequence[str]] | None = None
) -> str:
    """The regional office that `raw` names, as spelt in `offices` (from configuration): by its
    name or, where `aliases` gives an office's other names ("M&E"), by one of those."""
    aliases = aliases or {}
    expected = "one of the regional offices: " + ", ".join(
        f"{office} (or {', '.join(aliases[office])})" if aliases.get(office) else office
        for office in offices
    )
    text = _text(raw, expected)
    wanted = _choice_key(_OFFICE_NOISE.sub(" ", text)) or _choice_key(text)
    for office in offices:
        for name in (office, *aliases.get(office, ())):
            if wanted in (_choice_key(name), _choice_key(_OFFICE_NOISE.sub(" ", name))):
                return office
    raise ValueProblem(expected)


# "Commissioning and invoice validation" is two purposes, but only when both halves are purposes.
_PURPOSE_JOINS = re.compile(r"\s+and\s+|\s*[&/+]\s*", re.IGNORECASE)


def parse_purposes(raw: RawValue) -> list[str]:
    """Purposes from the list on the form, by label or alias; unknown ones are quoted back."""
    chosen: list[str] = []
    unknown: list[str] = []
    for item in split_list(_text(raw, PURPOSES_EXPECTED)):
        matched = _match_purposes(item)
        if matched is None:
            unknown.append(item)
        chosen += [value for value in matched or () if value not in chosen]
    if unknown:
        raise ValueProblem(PURPOSES_EXPECTED, found="; ".join(unknown))
    if not chosen:
        raise ValueProblem(PURPOSES_EXPECTED)
    return chosen


def _match_purposes(item: str) -> list[str] | None:
    if whole := match_choice(item, PURPOSES):
        return [whole.value]
    parts = [match_choice(p, PURPOSES) for p in _PURPOSE_JOINS.split(item) if p.strip()]
    if len(parts) > 1 and all(parts):
        return [p.value for p in parts if p is not None]
    return None
