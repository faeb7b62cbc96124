"""A header row that says where a report's columns are, for files that do not keep the published
order: an export of chosen columns ("Organisation Code, Name, Postcode, Open Date, Close Date,
Parent Organisation Code") is put back into the standard layout that ods/csv_reports.py reads.

A header naming its columns where the standard layout has them changes nothing, so a header the
reader does not know (ODS's own, or a spreadsheet's) never moves a column it did not name. A
report is moved only when its header names the close date too: a file read without it would
reopen every organisation it lists. A header that names one of them in two columns is refused,
not read from either: which one holds the dates ODS gave is a guess."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from intake_bot.domain.printable import clean_line

Rows = Iterable[tuple[int, list[str]]]


def _key(text: str) -> str:
    """A header as compared: case, spaces, punctuation and a note in brackets aside
    ("Close Date (YYYYMMDD)" and "CloseDate" are "closedate")."""
    return re.sub(r"[^a-z0-9]+", "", re.sub(r"\(.*?\)", "", text.casefold()))


def _lookup(names: Mapping[int, tuple[str, ...]]) -> Mapping[str, int]:
    """header key -> its column in the standard layout."""
    return {_key(n): target for target, ns in names.items() for n in ns}


# Each column of the standard layout and the headers that name it, its own name first. A bare
# "Start Date" or "End Date" is not among them: a report gives those of a role or a parent too.
_REPORT_NAMES = {
    0: ("organisation code", "org code", "ods code", "code"),
    1: ("name", "organisation name", "org name"),
    2: ("national grouping",),
    3: ("high level health geography",),
    **{3 + n: (f"address line {n}",) for n in range(1, 6)},
    9: ("postcode", "post code"),
    10: ("open date", "opening date", "opened date", "date opened", "operational start date"),
    11: ("close date", "closing date", "closed date", "date closed", "operational end date"),
    14: ("parent organisation code", "parent code", "parent organisation", "parent"),
}
_SUCCESSIONS_NAMES = {
    0: (
        *("organisation code", "old code", "old organisation code", "predecessor code"),
        "predecessor organisation code",
    ),
    1: (
        *("succeeding organisation code", "successor organisation code", "new code"),
        *("new organisation code", "successor code", "successor"),
    ),
    2: ("reason", "succession reason"),
    3: ("effective date", "succession date", "date"),
    4: ("indicator", "transfer indicator"),
}
_REPORT, _SUCCESSIONS = _lookup(_REPORT_NAMES), _lookup(_SUCCESSIONS_NAMES)
_DATES = frozenset(k for k, target in _REPORT.items() if target in (10, 11))
# Loose names name their column only where no other column names it more plainly: a "Code"
# beside "Organisation Code" may be any code, a "Parent (Organisation)" or "Successor" a name.
_LOOSE = frozenset(_key(n) for n in ("code", "parent", "parent organisation", "successor", "date"))


@dataclass(frozen=True)
class _Layout:
    columns: Mapping[str, int]
    fields: Mapping[int, str]  # each column by its own name, for an error
    needed: Mapping[int, str]  # the columns it cannot be read without, named for an error
    width: int  # through the last column read (a site's parent is column 15)


def _own_names(names: Mapping[int, tuple[str, ...]]) -> Mapping[int, str]:
    return {target: ns[0] for target, ns in names.items()}


_REPORT_LAYOUT = _Layout(
    _REPORT,
    _own_names(_REPORT_NAMES),
    {0: "organisation code", 1: "name", 10: "open date", 11: "close date"},
    15,
)
_SUCCESSIONS_LAYOUT = _Layout(
    _SUCCESSIONS,
    {**_own_names(_SUCCESSIONS_NAMES), 0: "old code", 1: "new code"},
    {0: "old code", 1: "new code", 3: "effective date"},
    5,
)


def in_standard_order(rows: Rows) -> Iterator[tuple[int, list[str]]]:
    """`rows` as they are, unless the first one is a header that puts the columns a report (or
    the successions file) needs somewhere else: then every row after it, in the standard order,
    and the header left out."""
    rest = iter(rows)
    first = next(rest, None)
    if first is None:
        return
    places = _places(first[1])
    if places is None or places.missing or places.clashes or places.standard:
        yield first
        yield from rest
        return
    for number, cells in rest:
        moved = [""] * places.width
        for source, target in places.mapping.items():
            if source < len(cells):
                moved[target] = cells[source]
        yield number, moved


def header_problem(header: list[str], *, fits: bool) -> str | None:
    """What keeps the file whose first row is `header` from being read, if that is a header of a
    report or successions file at all: a column it names twice, whatever the rows (`fits`: they
    are in a published layout); for a file no layout fits, the columns it lacks."""
    places = _places(header)
    if places is None:
        return None
    if places.clashes:
        return "\n".join(places.clashes)  # a line each, as every problem of a file is
    if fits or not places.missing:
        return None
    return f"its header names no {' and no '.join(places.missing)} column; is this an ODS report?"


@dataclass(frozen=True)
class _Places:
    mapping: dict[int, int]  # column in the file -> column in the standard layout
    width: int
    missing: tuple[str, ...]  # needed columns the header does not name
    clashes: tuple[str, ...]  # a column named by more than one of the file's, said for an error
    standard: bool  # every named column is where the standard layout has it


def _places(header: list[str]) -> _Places | None:
    """Where a header puts the standard layout's columns; None if it names no code at all."""
    names = [_key(cell) for cell in header]
    successor = any(_SUCCESSIONS.get(n) == 1 for n in names)
    # a report may carry its successor too: it is a report while it has open or close dates
    layout = _SUCCESSIONS_LAYOUT if successor and not _DATES & set(names) else _REPORT_LAYOUT
    found: dict[int, list[int]] = {}  # column in the layout -> the file's columns naming it
    for column, name in enumerate(names):
        if (target := layout.columns.get(name)) is not None:
            found.setdefault(target, []).append(column)
    if 0 not in found:
        return None
    clashes: list[str] = []
    mapping: dict[int, int] = {}
    for target, columns in sorted(found.items()):
        plain = [c for c in columns if names[c] not in _LOOSE] or columns
        mapping[plain[0]] = target
        if len(plain) > 1:
            named = " and ".join(f"{_shown(header[c])} (column {c + 1})" for c in plain)
            clashes.append(
                f"its header names the {layout.fields[target]} in more than one column: "
                f"{named}; remove all but one"
            )
    missing = tuple(what for column, what in layout.needed.items() if column not in found)
    standard = all(source == target for source, target in mapping.items())
    return _Places(dict(sorted(mapping.items())), layout.width, missing, tuple(clashes), standard)


def _shown(cell: str) -> str:
    """A header cell as the operator's terminal shows it: the file's own words, made safe."""
    return f'"{clean_line(cell).strip()[:40]}"'
