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


def _key(text: str) -> str:
    """A header as compared: case, spaces, punctuation and a note in brackets aside
    ("Close Date (YYYYMMDD)" and "CloseDate" are "closedate")."""
    return re.sub(r"[^a-z0-9]+", "", re.sub(r"\(.*?\)", "", text.casefold()))


def _lookup(names: Mapping[int, tuple[str, ...]]) -> Mapping[str, tuple[int, int]]:
    """header key -> (column in the standard layout, rank: 0 for the column's own name)."""
    return {_key(n): (target, rank) for target, ns in names.items() for rank, n in enumerate(ns)}


# Each column of the standard layout and the headers that name it, the plainest first. A bare
# "Start Date" or "End Date" is not among them: a report gives those of a role or a parent too.
_REPORT = _lookup(
    {
        0: ("organisation code", "org code", "ods code", "code"),
        1: ("name", "organisation name", "org name"),
        2: ("national grouping",),
        3: ("high level health geography",),
        **{3 + n: (f"address line {n}",) for n in range(1, 6)},
        9: ("postcode", "post code"),
        10: ("open date", "opening date", "date opened", "operational start date"),
        11: ("close date", "closing date", "date closed", "operational end date"),
        14: ("parent organisation code", "parent code", "parent organisation", "parent"),
    }
)
_SUCCESSIONS = _lookup(
    {
        0: ("organisation code", "old code", "old organisation code", "predecessor code"),
        1: (
            *("succeeding organisation code", "successor organisation code", "new code"),
            *("new organisation code", "successor code", "successor"),
        ),
        2: ("reason", "succession reason"),
        3: ("effective date", "succession date", "date"),
        4: ("indicator", "transfer indicator"),
    }
)
_DATES = frozenset(k for k, (target, _) in _REPORT.items() if target in (10, 11))


@dataclass(frozen=True)
class _Layout:
    columns: Mapping[str, tuple[int, int]]
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
    successor = any(_SUCCESSIONS.get(n, (None,))[0] == 1 for n in names)
    # a report may carry its successor too: it is a report while it has open or close dates
    layout = _SUCCESSIONS_LAYOUT if successor and not _DATES & set(names) else _REPORT_LAYOUT
    best: dict[int, tuple[int, int]] = {}  # column in the layout -> (rank, column in the file)
    for column, name in enumerate(names):
        found = layout.columns.get(name)
        if found is not None:
            target, rank = found
            if target not in best or rank < best[target][0]:
                best[target] = (rank, column)
    mapping = {column: target for target, (_, column) in sorted(best.items())}
    if 0 not in mapping.values():
        return None
    missing = tuple(what for column, what in layout.needed.items() if column not in best)
    standard = all(source == target for source, target in mapping.items())
    return _Places(dict(sorted(mapping.items())), layout.width, missing, standard)
