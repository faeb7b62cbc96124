"""A header row that says where a report's columns are, for files that do not keep the published
order: an export of chosen columns ("Organisation Code, Name, Postcode, Open Date, Close Date,
Parent Organisation Code") is put back into the standard layout that ods/csv_reports.py reads.

A header naming its columns where the standard layout has them changes nothing, so a header the
reader does not know (ODS's own, or a spreadsheet's) never moves a column it did not name. A
report is moved only when its header names the close date too: a file read without it would
reopen every organisation it lists."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

Rows = Iterable[tuple[int, list[str]]]


def _keys(*names: str) -> tuple[str, ...]:
    return tuple(_key(n) for n in names)


def _key(text: str) -> str:
    """A header as compared: case, spaces, punctuation and a note in brackets aside
    ("Close Date (YYYYMMDD)" and "CloseDate" are "closedate")."""
    return re.sub(r"[^a-z0-9]+", "", re.sub(r"\(.*?\)", "", text.casefold()))


# Header texts -> the column the standard layout keeps them in.
_REPORT: Mapping[str, int] = {
    **dict.fromkeys(_keys("organisation code", "org code", "ods code", "code"), 0),
    **dict.fromkeys(_keys("name", "organisation name", "org name"), 1),
    _key("national grouping"): 2,
    _key("high level health geography"): 3,
    **{_key(f"address line {n}"): 3 + n for n in range(1, 6)},
    **dict.fromkeys(_keys("postcode", "post code"), 9),
    **dict.fromkeys(
        _keys("open date", "opening date", "date opened", "operational start date", "start date"),
        10,
    ),
    **dict.fromkeys(
        _keys("close date", "closing date", "date closed", "operational end date", "end date"),
        11,
    ),
    **dict.fromkeys(_keys("parent organisation code", "parent code", "parent organisation"), 14),
    _key("parent"): 14,
}
_SUCCESSIONS: Mapping[str, int] = {
    **dict.fromkeys(
        _keys("old code", "old organisation code", "predecessor code", "predecessor"), 0
    ),
    **dict.fromkeys(
        _keys(
            "new code",
            "new organisation code",
            "succeeding organisation code",
            "successor organisation code",
            "successor code",
            "successor",
        ),
        1,
    ),
    **dict.fromkeys(_keys("reason", "succession reason"), 2),
    **dict.fromkeys(_keys("effective date", "succession date", "date"), 3),
    **dict.fromkeys(_keys("indicator", "transfer indicator"), 4),
}
_REPORT_ONLY = frozenset(_keys("name", "organisation name", "open date", "close date"))


@dataclass(frozen=True)
class _Layout:
    columns: Mapping[str, int]
    needed: Mapping[int, str]  # the columns it cannot be read without, named for an error
    width: int  # through the last column read (a site's parent is column 15)


_REPORT_LAYOUT = _Layout(
    _REPORT, {0: "organisation code", 1: "name", 10: "open date", 11: "close date"}, 15
)
_SUCCESSIONS_LAYOUT = _Layout(_SUCCESSIONS, {0: "old code", 1: "new code", 3: "effective date"}, 5)


def in_standard_order(rows: Rows) -> Iterator[tuple[int, list[str]]]:
    """`rows` as they are, unless the first one is a header that puts the columns a report (or
    the successions file) needs somewhere else: then every row after it, in the standard order,
    and the header left out."""
    rest = iter(rows)
    first = next(rest, None)
    if first is None:
        return
    places = _places(first[1])
    if places is None or places.missing or places.standard:
        yield first
        yield from rest
        return
    for number, cells in rest:
        moved = [""] * places.width
        for source, target in places.mapping.items():
            if source < len(cells):
                moved[target] = cells[source]
        yield number, moved


def header_problem(header: list[str]) -> str | None:
    """For a file no layout fits: what its header lacks ("names no close date"), if it is a
    header of a report or successions file at all."""
    places = _places(header)
    if places is None or not places.missing:
        return None
    return f"its header names no {' and no '.join(places.missing)} column"


@dataclass(frozen=True)
class _Places:
    mapping: dict[int, int]  # column in the file -> column in the standard layout
    width: int
    missing: tuple[str, ...]  # needed columns the header does not name
    standard: bool  # every named column is where the standard layout has it


def _places(header: list[str]) -> _Places | None:
    """Where a header puts the standard layout's columns; None if it names no code at all."""
    names = [_key(cell) for cell in header]
    successor = any(_SUCCESSIONS.get(n) == 1 for n in names)
    # a report may carry its successor too: it is a report while it has a name or dates
    successions = successor and not _REPORT_ONLY & set(names)
    layout = _SUCCESSIONS_LAYOUT if successions else _REPORT_LAYOUT
    mapping: dict[int, int] = {}
    # the most specific name first: "Organisation Code" before a bare "Code"
    for column in sorted(range(len(names)), key=lambda c: -len(names[c])):
        name = names[column]
        # "Organisation Code" beside a successor's column is the old code (succ.csv's header)
        target = 0 if successions and name == "organisationcode" else layout.columns.get(name)
        if target is not None and target not in mapping.values():
            mapping[column] = target
    if 0 not in mapping.values():
        return None
    missing = tuple(
        what for column, what in layout.needed.items() if column not in mapping.values()
    )
    standard = all(source == target for source, target in mapping.items())
    return _Places(dict(sorted(mapping.items())), layout.width, missing, standard)
