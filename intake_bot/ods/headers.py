"""A header row that says where a report's columns are, for files that do not keep the published
order: an export of chosen columns ("Organisation Code, Name, Postcode, Open Date, Close Date,
Parent Organisation Code") is put back into the standard layout that ods/csv_reports.py reads.

A header naming its columns where the standard layout has them changes nothing, so a header the
reader does not know (ODS's own, or a spreadsheet's) never moves a column it did not name."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

Rows = Iterable[tuple[int, list[str]]]

# Header texts (lower case, words only) -> the column the standard layout keeps them in.
_REPORT: Mapping[str, int] = {
    **dict.fromkeys(("organisation code", "org code", "ods code", "code"), 0),
    **dict.fromkeys(("name", "organisation name", "org name"), 1),
    "national grouping": 2,
    "high level health geography": 3,
    **{f"address line {n}": 3 + n for n in range(1, 6)},
    **dict.fromkeys(("postcode", "post code"), 9),
    **dict.fromkeys(("open date", "opening date", "operational start date", "start date"), 10),
    **dict.fromkeys(("close date", "closing date", "operational end date", "end date"), 11),
    **dict.fromkeys(("parent organisation code", "parent code", "parent organisation"), 14),
    "parent": 14,
}
_SUCCESSIONS: Mapping[str, int] = {
    **dict.fromkeys(("old code", "old organisation code", "predecessor code", "predecessor"), 0),
    **dict.fromkeys(
        (
            "new code",
            "new organisation code",
            "succeeding organisation code",
            "successor organisation code",
            "successor code",
            "successor",
        ),
        1,
    ),
    **dict.fromkeys(("reason", "succession reason"), 2),
    **dict.fromkeys(("effective date", "succession date", "date"), 3),
    **dict.fromkeys(("indicator", "transfer indicator"), 4),
}


@dataclass(frozen=True)
class _Layout:
    columns: Mapping[str, int]
    needed: frozenset[int]  # code, name and open date; old code, new code and date
    width: int  # through the last column read (a site's parent is column 15)


_REPORT_LAYOUT = _Layout(_REPORT, frozenset({0, 1, 10}), 15)
_SUCCESSIONS_LAYOUT = _Layout(_SUCCESSIONS, frozenset({0, 1, 3}), 5)
_WORDS = re.compile(r"[^a-z0-9]+")


def in_standard_order(rows: Rows) -> Iterator[tuple[int, list[str]]]:
    """`rows` as they are, unless the first one is a header that puts the columns a report (or
    the successions file) needs somewhere else: then every row after it, in the standard order,
    and the header left out."""
    rest = iter(rows)
    first = next(rest, None)
    if first is None:
        return
    places = _places(first[1])
    if places is None:
        yield first
        yield from rest
        return
    mapping, width = places
    for number, cells in rest:
        moved = [""] * width
        for source, target in mapping.items():
            if source < len(cells):
                moved[target] = cells[source]
        yield number, moved


def _places(header: list[str]) -> tuple[dict[int, int], int] | None:
    """{column in the file: column in the standard layout}, and the layout's width, for a
    header that names the needed columns and puts one of them out of place; else None."""
    names = [" ".join(_WORDS.split(cell.casefold())).strip() for cell in header]
    successions = any(_SUCCESSIONS.get(n) == 1 for n in names)  # a successor's column
    layout = _SUCCESSIONS_LAYOUT if successions else _REPORT_LAYOUT
    mapping: dict[int, int] = {}
    for column, name in enumerate(names):
        # "Organisation Code" beside a successor's column is the old code (succ.csv's header)
        target = 0 if successions and name == "organisation code" else layout.columns.get(name)
        if target is not None and target not in mapping.values():
            mapping[column] = target
    if not layout.needed <= set(mapping.values()):
        return None
    if all(source == target for source, target in mapping.items()):
        return None  # the standard layout, with its header: read as it is
    return mapping, layout.width
