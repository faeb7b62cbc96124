"""Forms that declare no version and mix today's labels with a few of an older version's: every
value is read, wherever the old label sits; a second answer under an old label is weighed, not
dropped; and today's form with a label or two typed the old way is not called an old form."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from intake_bot.domain.fields import FIELDS
from intake_bot.domain.rawform import RawForm
from intake_bot.domain.validation import ValidationContext, validate
from intake_bot.forms.files import read_file
from intake_bot.forms.limits import DEFAULT_LIMITS
from intake_bot.forms.text import read_body
from intake_bot.samples import DOCX, XLSX, new_request
from tests.old_forms import FORM_2016, word_form, workbook_form
from tests.unit.test_form_versions_unversioned import VERSIONS

VALUES = new_request(0)
LABEL = {f.key: f.label for f in FIELDS}
CONTEXT = ValidationContext(today=date(2016, 3, 21), dscros=("North", "South", "London"))


def _body(lines: list[str]) -> RawForm:
    form = read_body("Hello,\n\n" + "\n".join(lines) + "\n\nKind regards\nAisha\n", VERSIONS)
    assert form is not None
    return form


def _today_lines(*, but: str) -> list[str]:
    """Today's form typed as `Label: value` lines, without the field `but`."""
    return [f"{LABEL[k]}: {v}" for k, v in VALUES.items() if v and k != but]


@pytest.mark.parametrize(
    "place",
    ["last line", "with a tab", "after the description", "in the middle"],
)
def test_an_old_label_in_a_typed_form_is_read_wherever_it_sits(place: str) -> None:
    lines = _today_lines(but="contract_end")
    old = f"{FORM_2016['contract_end'][0]}: 31/03/2031"
    if place == "last line":
        lines.append(old)
    elif place == "with a tab":
        lines.append(old.replace(": ", "\t"))
    elif place == "after the description":
        lines += [f"{LABEL['change_description']}: moving to the new ICB", old]
    else:
        lines.insert(len(lines) // 2, old)
    form = _body(lines)
    assert form.values["contract_end"] == "31/03/2031"
    assert "31/03/2031" not in str(form.values.get("change_description", ""))
    assert form.older_labels is None  # today's form with one label typed the old way


@pytest.mark.parametrize("key", ["purposes", "requester_phone", "processor_name"])
def test_todays_typed_form_with_one_old_label_is_not_called_an_old_form(key: str) -> None:
    form = _body([*_today_lines(but=key), f"{FORM_2016[key][0]}: {VALUES[key]}"])
    assert form.values[key] == VALUES[key] and form.older_labels is None


def test_a_typed_2016_form_is_still_called_one() -> None:
    form = _body([f"{FORM_2016[k][0]}: {v}" for k, v in VALUES.items() if v and k in FORM_2016])
    assert form.older_labels == "2016.1"
    assert form.values["processor_ods"] == VALUES["processor_ods"]


def _with_a_second_answer(kind: str) -> RawForm:
    """Today's form, and the 2016 label of the processor giving another organisation."""
    names = {"processor_consent": FORM_2016["processor_name"]}  # a row the form has spare
    values = {**VALUES, "processor_consent": "Midlands and Lancashire CSU"}
    if kind == "body":
        return _body(
            [
                *_today_lines(but=""),
                f"{FORM_2016['processor_name'][0]}: {values['processor_consent']}",
            ]
        )
    data, ctype = (
        (word_form(values, version=None, names=names, controls=False), DOCX)
        if kind == "docx"
        else (workbook_form(values, version=None, names=names), XLSX)
    )
    reading = read_file(
        f"form.{kind}", ctype, data, limits=replace(DEFAULT_LIMITS, form_versions=VERSIONS)
    )
    (form,) = reading.forms
    return form


@pytest.mark.parametrize("kind", ["body", "docx", "xlsx"])
def test_an_old_label_giving_a_second_answer_is_weighed_not_dropped(kind: str) -> None:
    # Who receives data must not be picked silently: two different processors is a problem.
    form = _with_a_second_answer(kind)
    assert "CSU or data processor" not in form.unknown_labels
    problems = [p for p in validate(form, CONTEXT).problems if p.field_key == "processor_name"]
    assert problems and "2 different" in str(problems[0].expected), problems
    assert form.older_labels is None
