"""Shared by the form readers: match labels, tidy cell values, and gather values into forms.

A form arrives as label | value pairs (a Word table, the `Request` sheet) or as rows under a
header of labels (the `Bulk` sheet, a .csv). Both shapes end up here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time
from itertools import chain, islice

from intake_bot.domain.fields import Field, Kind
from intake_bot.domain.form_versions import CURRENT_NAMES, FieldNames, FormVersions
from intake_bot.domain.rawform import RawForm, RawValue
from intake_bot.forms.version_choice import best_reading

# A file needs this many labels in a row or a column before a sheet we were not told about is
# taken for a form: two could be chance ("Name", "Email").
MIN_LABELS = 3
MAX_LABEL_CHARS = 200  # longer text is a paragraph, not a label
MAX_UNKNOWN_LABEL_CHARS = 80
HEADER_SEARCH_ROWS = 20  # a header row is looked for this far down, past titles and notes

_ENUMERATION = re.compile(r"^\s*(?:q(?:uestion)?\s*)?(?:\d+(?:\.\d+)*|[a-z])[.):]\s*", re.I)
_TRAILING_NOTE = re.compile(r"\s*\([^()]*\)[\s:*]*$")


def match_label(text: str, names: FieldNames = CURRENT_NAMES) -> Field | None:
    """The field a label names, allowing a question number, a second line or a note in brackets.

    `names`: the labels of the form's version (today's by default)."""
    found = matched_label(text, names)
    return found[0] if found else None


def matched_label(text: str, names: FieldNames = CURRENT_NAMES) -> tuple[Field, bool] | None:
    """`match_label`'s field, and whether the label is the field's own (not a loose alias)."""
    text = text.strip()
    if not text or len(text) > MAX_LABEL_CHARS:
        return None
    first_line = text.splitlines()[0]
    unnumbered = _ENUMERATION.sub("", first_line, count=1)
    for candidate in (text, first_line, unnumbered, _TRAILING_NOTE.sub("", unnumbered)):
        found = names.by_label(candidate) if candidate else None
        if found is not None:
            return found, names.names_strongly(candidate, found)
    return None


def key_for(text: object, names: FieldNames = CURRENT_NAMES) -> Field | None:
    """The field when `text` is exactly a key of the form's version (a hidden key column)."""
    return names.by_key(text) if isinstance(text, str) else None


def raw_value(value: object) -> RawValue:
    """A spreadsheet or CSV cell as a raw form value: text trimmed, midnight datetimes as dates."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None and value.time() == time(0, 0):
            return value.date()
        return value
    if isinstance(value, date):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def cell_text(value: object) -> str:
    """A cell as label text."""
    return value.strip() if isinstance(value, str) else ""


def count_labels(cells: Iterable[object], names: FieldNames = CURRENT_NAMES) -> int:
    """How many of `cells` name a field."""
    return sum(1 for cell in cells if match_label(cell_text(cell), names) is not None)


def is_empty_row(cells: Sequence[object]) -> bool:
    return all(raw_value(cell) is None for cell in cells)


def is_blank(form: RawForm) -> bool:
    """Nothing filled in: every value empty or an unticked box."""
    return all(value in (None, "", False) for value in form.values.values())


def read_unversioned(
    read: Callable[[FieldNames], list[RawForm]], versions: FormVersions
) -> list[RawForm]:
    """A file that names no version, read as `best_reading` chooses, by these readers' own
    measure of a form (its distinct fields, at least MIN_LABELS)."""
    return best_reading(read, versions, distinct_fields, MIN_LABELS)


def distinct_fields(forms: Iterable[RawForm]) -> int:
    """How many different fields the forms name between them."""
    return len({key for form in forms for key in form.values})


def keep_filled(forms: list[RawForm]) -> list[RawForm]:
    """Drop blank forms (an unused repeat of the table), keeping one if every form is blank."""
    filled = [form for form in forms if not is_blank(form)]
    return filled or forms[:1]


def add_value(form: RawForm, key: str, value: RawValue, own: bool = True) -> None:
    """The first value given for a field is its value; any later one is kept as a repeat, so
    that two different answers to one question are weighed, not silently dropped. `own`: given
    under the field's own label or key, not a loose alias."""
    if form.values.get(key) in (None, ""):
        form.values[key] = value
        (form.loose.discard if own else form.loose.add)(key)
    elif value not in (None, ""):
        form.repeats.setdefault(key, []).append((value, own))


class FormCollector:
    """Gathers field values in document order; a second request type starts a new form."""

    def __init__(self, source: str) -> None:
        self._source = source
        self._forms: list[RawForm] = []
        self._pending_unknown: list[str] = []
        # The row a label was last read from, its field and its text so far: the rows under a
        # label cell merged down over them continue that answer (forms/docx_tables.py).
        self.above: tuple[object, Field, str] | None = None
        self.group: object | None = None  # the table being read, set by the reader
        self._groups: dict[str, object | None] = {}  # the table each field of this form came from
        self._split: list[RawForm] = []  # forms started by a field answered in another table

    def add(self, key: str, value: RawValue, own: bool = True) -> None:
        """Record one field's value; a later value for the same field is kept as a repeat.
        `own`: given under the field's own label or key, not a loose alias.

        A new form starts at a second request type, and at a field answered again under its
        own label in another table (`group`): two forms one under the other, each with the
        request type further down. `forms` folds back a "form" too small to be one."""
        current = self._forms[-1] if self._forms else None
        again = current is not None and current.values.get(key) not in (None, "")
        again = again and current is not None and key not in current.loose  # its own label too
        elsewhere = self._groups.get(key, self.group) is not self.group
        second_type = current is not None and key == "request_type" and key in current.values
        split = again and own and self.group is not None and elsewhere and not second_type
        if current is None or second_type or split:
            current = RawForm(source=self._source, unknown_labels=self._pending_unknown)
            self._pending_unknown = []
            self._forms.append(current)
            self._groups = {}
            if split:
                self._split.append(current)
        add_value(current, key, value, own)
        self._groups.setdefault(key, self.group)

    def set_last(self, key: str, value: RawValue) -> None:
        """Replace the value last given for `key`: the rows under a label merged down over
        them, read as one answer."""
        if not self._forms:
            return
        form = self._forms[-1]
        later = form.repeats.get(key)
        if later:
            later[-1] = (value, later[-1][1])
        else:
            form.values[key] = value

    def add_unknown(self, label: str) -> None:
        """Record a label that names no field (kept only when some field was found)."""
        label = " ".join(label.split())
        target = self._forms[-1].unknown_labels if self._forms else self._pending_unknown
        if label and label not in target:
            target.append(label)

    def forms(self) -> list[RawForm]:
        """The forms found, numbered in their source when there are several."""
        for split in self._split:
            at = next(i for i, form in enumerate(self._forms) if form is split)  # not ==
            if at > 0 and not _whole_form(split):  # a box or a part repeating some fields
                _fold_into(self._forms[at - 1], split)
                del self._forms[at]
        self._split = []  # folded once: asking again gives the same forms
        forms = keep_filled(self._forms)
        if len(forms) > 1:
            for number, form in enumerate(forms, start=1):
                form.source = f"{self._source}, form {number}"
        return forms


def _whole_form(form: RawForm) -> bool:
    """A second form of its own: a request type, and more than a box's few fields."""
    given = sum(1 for value in form.values.values() if value not in (None, ""))
    return form.values.get("request_type") not in (None, "") and given >= 2 * MIN_LABELS


def _fold_into(form: RawForm, more: RawForm) -> None:
    """`more`'s answers as later answers of `form`."""
    for key, value in more.values.items():
        add_value(form, key, value, key not in more.loose)
    for key, later in more.repeats.items():
        for value, own in later:
            add_value(form, key, value, own)
    form.unknown_labels += [
        label for label in more.unknown_labels if label not in form.unknown_labels
    ]


# In place of a label: the row is under a label cell merged down over it (forms/xlsx.py).
# Only these kinds of answer run on over such rows (one data set or purpose a row); under any
# other, the rows below are a note ("Signed: ...") and the top row's answer stands.
JOINED_KINDS = frozenset({Kind.LIST, Kind.PURPOSES, Kind.LONG_TEXT, Kind.CAG_REFS})
CONTINUED = object()


def forms_from_label_rows(
    rows: Iterable[Sequence[object]], source: str, names: FieldNames = CURRENT_NAMES
) -> list[RawForm]:
    """Rows of label | value (| key): the `Request` sheet, or a form saved as two-column CSV."""
    collector = FormCollector(source)
    above: tuple[Field, RawValue] | None = None  # the field of the row above, and its answer
    for row in rows:
        label = cell_text(row[0]) if row else ""
        value = raw_value(row[1]) if len(row) > 1 else None
        if row and row[0] is CONTINUED:  # under a label merged down: more of its answer
            if above is not None and value is not None and above[0].kind in JOINED_KINDS:
                above = above[0], _joined(above[1], value)
                collector.set_last(above[0].key, above[1])
            continue
        keyed = key_for(row[2], names) if len(row) > 2 else None
        found = (keyed, True) if keyed else matched_label(label, names)
        above = None
        if found is not None:
            collector.add(found[0].key, value, own=found[1])
            above = found[0], value
        elif label and value is not None and len(label) <= MAX_UNKNOWN_LABEL_CHARS:
            collector.add_unknown(label)
    return collector.forms()


def _joined(before: RawValue, more: RawValue) -> RawValue:
    """Two cells' answers as one: text on two lines (a list, one item a row)."""
    if before in (None, ""):
        return more
    return f"{before}\n{more}" if isinstance(before, str) and isinstance(more, str) else before


def rows_not_read(first: int, last: int, where: str, limit: int) -> str:
    """What a limit of rows cut, as the sender and staff are told it."""
    if first == last:
        rows = f"row {first:,} of {where} was"
    else:
        rows = f"rows {first:,} to {last:,} of {where} were"
    return f"{rows} not read (we read at most {limit:,} rows a sheet)"


def forms_from_header_rows(
    rows: Iterable[tuple[int, Sequence[object]]],
    source_of_row: Callable[[int], str],
    names: FieldNames = CURRENT_NAMES,
) -> list[RawForm]:
    """Numbered rows under a header of labels or keys: one form a row.

    The header is the row with the most labels near the top, so a title row above it is fine.
    """
    remaining = (numbered for numbered in rows if not is_empty_row(numbered[1]))
    leading = list(islice(remaining, HEADER_SEARCH_ROWS))
    counts = [count_labels(row, names) for _, row in leading]
    if not counts or max(counts) == 0:
        return []
    at = counts.index(max(counts))
    header = [
        (i, matched_label(cell_text(c), names), cell_text(c)) for i, c in enumerate(leading[at][1])
    ]
    return [
        _form_from_row(header, row, source_of_row(number))
        for number, row in chain(leading[at + 1 :], remaining)
    ]


def _form_from_row(
    header: list[tuple[int, tuple[Field, bool] | None, str]], row: Sequence[object], source: str
) -> RawForm:
    form = RawForm(source=source)
    for index, found, label in header:
        value = raw_value(row[index]) if index < len(row) else None
        if found is not None:
            add_value(form, found[0].key, value, own=found[1])
        elif label and value is not None and label not in form.unknown_labels:
            form.unknown_labels.append(label)
    return form


def forms_from_grid(
    rows: Sequence[tuple[int, Sequence[object]]],
    source: str,
    source_of_row: Callable[[int], str],
    min_labels: int = MIN_LABELS,
    names: FieldNames = CURRENT_NAMES,
    label_rows: Callable[[], Iterable[Sequence[object]]] | None = None,
) -> list[RawForm]:
    """Rows of unknown layout: a header row of labels (bulk) or a column of labels (one form).

    `label_rows`: the rows as a column of labels reads them, when that differs (merged cells)."""
    top = [row for _, row in rows[:HEADER_SEARCH_ROWS]]
    across = max((count_labels(row, names) for row in top), default=0)
    down = count_labels((row[0] for _, row in rows if row), names)
    if across >= max(down, min_labels):
        return forms_from_header_rows(rows, source_of_row, names)
    if down >= min_labels:
        read = label_rows() if label_rows else (row for _, row in rows)
        return forms_from_label_rows(read, source, names)
    return []
