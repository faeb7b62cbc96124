"""Organisations' names as people write them, against the names ODS gives: the same name give
or take case, punctuation, "NHS" and the common abbreviations, or one word that tells no
organisation from another.

Pure: no I/O."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from intake_bot.domain.organisations import OdsOrganisation

_ABBREVIATIONS = (
    (r"\bccg\b", "clinical commissioning group"),
    (r"\bicb\b", "integrated care board"),
    (r"\bcsu\b", "commissioning support unit"),
    (r"\bft\b", "foundation trust"),
    (r"\buhb\b", "university health board"),
    (r"\blhb\b", "local health board"),
    (r"&", " and "),
)
_NOISE = re.compile(r"\b(nhs|the|limited|ltd)\b|[^a-z0-9 ]")


def name_key(name: str) -> str:
    """A name as compared: case, punctuation, "NHS", "the" and common abbreviations aside."""
    text = re.sub(r"['\u2019]", "", name.casefold())  # "Guy's" is "Guys", not "Guy s"
    for pattern, full in _ABBREVIATIONS:
        text = re.sub(pattern, full, text)
    return " ".join(_NOISE.sub(" ", text).split())


# Words people leave out of a name that still name the same organisation. A place or a
# direction ("North", "Leeds") is never one: "NHS Leeds CCG" is not NHS LEEDS NORTH CCG.
_SPARE_WORDS = frozenset(
    {
        *("unit", "support", "foundation", "trust", "services", "service", "board", "group"),
        *("organisation", "location", "england", "local", "and", "of"),
    }
)
_CODE = re.compile(r"[0-9a-z]{3,5}")


def same_name(given: str, org: OdsOrganisation) -> bool:
    """Whether `given` names `org`: its name, in its order, give or take words of ODS's that
    tell no organisation from another, one or two side by side ("trust", "foundation trust",
    "unit", the sub-ICB location's code at its end...), as people shorten names."""
    mine, theirs = name_key(given).split(), name_key(org.name).split()
    if mine == theirs:
        return True
    left_out = len(theirs) - len(mine)
    if len(mine) < 2 or left_out not in (1, 2):
        return False
    for at in range(len(mine) + 1):
        words = theirs[at : at + left_out]
        if theirs[:at] + theirs[at + left_out :] == mine and all(
            _spare(word, last=at + left_out == len(theirs)) for word in words
        ):
            return True
    return False


def _spare(word: str, *, last: bool) -> bool:
    # a code ends a sub-ICB location's name ("... ICB - 15F"); "2gether" is a name
    code = last and any(c.isdigit() for c in word) and _CODE.fullmatch(word) is not None
    return word in _SPARE_WORDS or code


# A code written beside a name, as forms are filled: "NHS X CCG (03G)", "[03G]", "- 03G",
# "– 03G", ": 03G", ", 03G" after it, or "03G - NHS X CCG", "03G: ..." before it.
_SEPARATOR = r"[-\u2010-\u2015\u2212:,;/|]"
_WRITTEN = r"[0-9A-Za-z]{3,6}"
_AFTER = re.compile(
    rf"(?P<name>.*?\S)\s*(?:[(\[]\s*(?P<bracketed>{_WRITTEN})\s*[)\]]"
    rf"|{_SEPARATOR}\s*(?P<code>{_WRITTEN}))\s*"
)
_BEFORE = re.compile(
    rf"\s*(?:[(\[]\s*(?P<bracketed>{_WRITTEN})\s*[)\]]\s*{_SEPARATOR}?"
    rf"|(?P<code>{_WRITTEN})\s*{_SEPARATOR})\s*(?P<name>\S.*)"
)


def _beside(given: str) -> list[tuple[str, str]]:
    """(name, code-like word) for a word written after the name, and one written before it."""
    found = (pattern.fullmatch(given) for pattern in (_AFTER, _BEFORE))
    return [(m["name"].strip(), (m["bracketed"] or m["code"]).upper()) for m in found if m]


def code_beside(given: str) -> tuple[str, str] | None:
    """The name and the code-like word written beside it (after it, else before it), upper
    case: ("NHS X CCG", "03G") for "NHS X CCG (03g)" or "03G - NHS X CCG"; None if there is none.
    Whether the word is a code at all is for the caller to judge ("Tees, Esk and ...")."""
    return next(iter(_beside(given)), None)


def without_code(given: str, code: str) -> str:
    """`given` without the copies of `code` written beside it ("NHS X CCG (03G)", "03g - NHS X
    CCG", both); any other word beside it is kept."""
    for _ in range(4):  # a copy each side, one more each side at most
        name = next((name for name, word in _beside(given) if word == code.upper()), None)
        if name is None:
            break
        given = name
    return given


def former_name(given: str, org: OdsOrganisation) -> str | None:
    """The former name `given` matches, if any."""
    key = name_key(given)
    return next((n["name"] for n in org.former_names if name_key(n["name"]) == key), None)
