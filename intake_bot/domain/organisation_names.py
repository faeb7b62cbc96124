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
    (r"&", " and "),
)
_NOISE = re.compile(r"\b(nhs|the|limited|ltd)\b|[^a-z0-9 ]")


def name_key(name: str) -> str:
    """A name as compared: case, punctuation, "NHS", "the" and common abbreviations aside."""
    text = name.casefold()
    for pattern, full in _ABBREVIATIONS:
        text = re.sub(pattern, full, text)
    return " ".join(_NOISE.sub(" ", text).split())


# Words people leave out of a name that still name the same organisation. A place or a
# direction ("North", "Leeds") is never one: "NHS Leeds CCG" is not NHS LEEDS NORTH CCG.
_SPARE_WORDS = frozenset(
    {
        *("unit", "support", "foundation", "trust", "services", "service", "board", "group"),
        *("organisation", "location", "england", "and", "of"),
    }
)


def same_name(given: str, org: OdsOrganisation) -> bool:
    """Whether `given` names `org`: its name, in its order, give or take one word of ODS's that
    tells no organisation from another ("trust", "unit", the sub-ICB location's code...), as
    people shorten names."""
    mine, theirs = name_key(given).split(), name_key(org.name).split()
    if mine == theirs:
        return True
    if len(mine) < 2 or len(theirs) != len(mine) + 1:
        return False
    return any(
        theirs[:i] + theirs[i + 1 :] == mine
        and (theirs[i] in _SPARE_WORDS or any(c.isdigit() for c in theirs[i]))
        for i in range(len(theirs))
    )


def former_name(given: str, org: OdsOrganisation) -> str | None:
    """The former name `given` matches, if any."""
    key = name_key(given)
    return next((n["name"] for n in org.former_names if name_key(n["name"]) == key), None)
