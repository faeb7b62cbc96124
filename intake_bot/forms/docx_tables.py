"""Forms in Word that lost their content controls: label | value table rows, tables with a
header row of labels (one request a row), and `Label: value` paragraphs."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from intake_bot.domain.form_versions import CURRENT_NAMES, FieldNames
from intake_bot.forms._tables import (
    JOINED_KINDS,
    MAX_UNKNOWN_LABEL_CHARS,
    MIN_LABELS,
    FormCollector,
    count_labels,
    matched_label,
)
from intake_bot.forms.docx_ticks import has_box, value_from_text
from intake_bot.forms.docx_xml import (
    W_CUSTOMXML,
    W_P,
    W_SDT,
    W_TBL,
    W_TC,
    W_TCPR,
    W_TR,
    W_VAL,
    W_VMERGE,
    text_of,
)
from intake_bot.forms.limits import Budget
from intake_bot.forms.text import SIGN_OFF, unknown_label


def read_row(
    row: etree._Element, collector: FormCollector, names: FieldNames = CURRENT_NAMES
) -> None:
    """A row of label | value cells (or label | value | label | value)."""
    cells = _cells(row)
    texts = [text_of(cell) for cell in cells]
    if len(texts) == 2 and texts[1] and _merged_from_above(cells[0], texts[0]):
        _continue_above(row, texts[1], collector)
        return
    collector.above = None
    matched = False
    index = 0
    while index < len(texts) - 1:
        found = matched_label(texts[index], names) if texts[index] else None
        if found is None:
            index += 1
            continue
        field, own = found
        collector.add(field.key, value_from_text(field, texts[index + 1]), own)
        if len(texts) == 2:
            collector.above = (row, field, texts[1])
        matched = True
        index += 2
    nested = next(row.iter(W_TBL), None) is not None
    if not matched and len(texts) == 2 and texts[1] and _looks_like_label(texts[0]) and not nested:
        collector.add_unknown(texts[0])


def _continue_above(row: etree._Element, text: str, collector: FormCollector) -> None:
    """A row under a label cell merged down over it: more of the answer of the row directly
    above (one data set a row, or "☒ Yes" over "☐ No"), read again as one answer. Under
    anything else (a heading, a box the form does not ask for), or as a note under an answer
    of one value ("Signed: ..."), the row is not read."""
    above = collector.above
    if above is None or above[0] is not _row_above(row):
        collector.above = None
        return
    _, field, before = above
    ticks = has_box(before) and has_box(text)  # "☒ Yes" over "☐ No": the options, a row each
    if field.kind not in JOINED_KINDS and not ticks:
        collector.above = None  # a note under a single answer ("Signed: ..."): not the answer
        return
    joined = f"{before}\n{text}"
    collector.set_last(field.key, value_from_text(field, joined))
    collector.above = (row, field, joined)


def _row_above(row: etree._Element) -> etree._Element | None:
    above = row.getprevious()
    while above is not None and above.tag != W_TR:  # bookmarks and the like between rows
        above = above.getprevious()
    return above


def _cells(row: etree._Element) -> list[etree._Element]:
    """A row's cells, including those wrapped in a cell-level control or custom XML."""
    cells: list[etree._Element] = []
    for child in row:
        if child.tag == W_TC:
            cells.append(child)
        elif child.tag in (W_SDT, W_CUSTOMXML):
            cells.extend(c for c in child.iter(W_TC) if next(c.iterancestors(W_TR)) is row)
    return cells


def _merged_from_above(cell: etree._Element, text: str) -> bool:
    """An empty cell that Word merged into the one above it (vertical merge, continued)."""
    merge = cell.find(f"{W_TCPR}/{W_VMERGE}")
    return not text and merge is not None and merge.get(W_VAL, "continue") == "continue"


def _looks_like_label(text: str) -> bool:
    return bool(text) and "\n" not in text and len(text) <= MAX_UNKNOWN_LABEL_CHARS


def header_table_rows(
    table: etree._Element, budget: Budget | None = None, names: FieldNames = CURRENT_NAMES
) -> list[tuple[int, list[str]]] | None:
    """A table whose first row is a header of field labels, as numbered rows of text; else None."""
    rows = [row for row in table if row.tag == W_TR]
    if len(rows) < 2:
        return None
    header = [text_of(cell) for cell in _cells(rows[0])]
    labels = count_labels(header, names)
    if labels < MIN_LABELS or labels * 2 <= sum(1 for text in header if text):
        return None  # label | value | label | value ... is one form, not a header
    numbered: list[tuple[int, list[str]]] = []
    for number, row in enumerate(rows, start=1):
        if budget is not None:
            budget.tick()
        numbered.append((number, [text_of(cell) for cell in _cells(row)]))
    return numbered


def read_paragraphs(
    body: etree._Element,
    collector: FormCollector,
    budget: Budget | None = None,
    names: FieldNames = CURRENT_NAMES,
) -> None:
    """`Label: value` lines typed as plain paragraphs (no table, no controls). After a sign-off
    ("Kind regards"), a label given already is the signature's ("Tel:"), not a second answer.
    A line that looks like a label but names no field is noted, as in an email's body, only
    between two that do: before the first or after the last it is the letter around the form."""
    given: set[str] = set()
    signed_off = False
    between: list[str] = []  # unknown labels since the last field read
    for label, value in _label_lines(body, budget or Budget.start()):
        if value is None:
            signed_off = signed_off or bool(SIGN_OFF.match(label.strip()))
            continue
        found = matched_label(label, names)
        if found is None:
            unknown = unknown_label(f"{label}:{value}")
            if unknown and given and not signed_off:
                between.append(unknown)
        elif not (signed_off and found[0].key in given):
            field, own = found
            given.add(field.key)
            collector.add(field.key, value_from_text(field, value), own)
            for unknown in between:
                collector.add_unknown(unknown)
            between = []


def _label_lines(body: etree._Element, budget: Budget) -> Iterator[tuple[str, str | None]]:
    """(label, value) of each `Label: value` line; (line, None) of any other line."""
    for paragraph in body.iter(W_P):
        budget.tick()
        for line in text_of(paragraph).splitlines():
            label, colon, value = line.partition(":")
            if not colon:
                label, colon, value = line.partition("\t")
            if colon and label.strip():
                yield label, value.strip()
            else:
                yield line, None
