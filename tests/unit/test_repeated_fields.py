"""A field given more than once on one form: the same answer twice is fine, an empty prompt does
not hide an answer, and two different answers are a problem the sender is asked to settle, in
every kind of form (Word, Excel, an older version's labels beside today's, a bulk sheet, an
email body)."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from pathlib import Path

from docx import Document
from openpyxl import Workbook, load_workbook

from intake_bot.domain.fields import FIELDS, FIELDS_BY_KEY
from intake_bot.domain.rawform import RawForm
from intake_bot.domain.repeated_fields import settle_repeats
from intake_bot.domain.validation import Validation, ValidationContext, validate
from intake_bot.forms.files import read_file
from intake_bot.forms.limits import DEFAULT_LIMITS
from intake_bot.forms.text import read_body
from intake_bot.forms.version_files import load_form_versions
from intake_bot.samples import body_form, new_request
from tests.old_forms import FORM_2016, workbook_form

LIMITS = replace(
    DEFAULT_LIMITS,
    form_versions=load_form_versions(Path(__file__).resolve().parents[2] / "config" / "forms"),
)
CTX = ValidationContext(today=date(2016, 6, 1), dscros=("North", "Midlands and East", "London"))
VALUES = new_request(0)  # 02V, NHS Leeds North CCG
ODS = FIELDS_BY_KEY["commissioner_ods"]


def _word(rows: list[tuple[str, str]]) -> bytes:
    """A Word form typed by hand: today's label | value rows, then `rows` at the end."""
    document = Document()
    table = document.add_table(rows=0, cols=2)
    for label, value in [(f.label, VALUES.get(f.key, "")) for f in FIELDS] + rows:
        label_cell, value_cell = table.add_row().cells
        label_cell.text, value_cell.text = label, value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _checked(name: str, data: bytes) -> Validation:
    reading = read_file(name, "", data, limits=LIMITS)
    assert reading.rejection is None, reading.rejection
    (form,) = reading.forms
    return validate(form, CTX)


def _problem_for(validation: Validation, key: str) -> str:
    (message,) = [p.message for p in validation.problems if p.field_key == key]
    return message


def test_a_field_given_the_same_answer_twice_is_read_once() -> None:
    validation = _checked("form.docx", _word([(ODS.label, "  02v ")]))
    assert validation.complete, validation.problems
    assert validation.values["commissioner_ods"] == "02V"


def test_two_different_answers_to_one_question_are_put_to_the_sender() -> None:
    validation = _checked("form.docx", _word([(ODS.label, "99X")]))
    assert not validation.complete
    message = _problem_for(validation, "commissioner_ods")
    assert "02V" in message and "99X" in message  # both answers quoted back
    assert "once" in message


def test_an_empty_prompt_or_n_a_first_does_not_hide_the_answer_below_it() -> None:
    values = {**VALUES, "commissioner_name": "N/A"}
    form = RawForm(
        source="form.docx",
        values=dict(values),
        repeats={"commissioner_name": ["", "NHS Leeds North CCG"]},
    )
    validation = validate(form, CTX)
    assert validation.complete, validation.problems
    assert validation.values["commissioner_name"] == "NHS Leeds North CCG"


def test_a_date_typed_as_text_and_the_same_date_are_one_answer() -> None:
    form = RawForm(source="x", values={"contract_start": date(2016, 4, 1)})
    form.repeats["contract_start"] = ["01/04/2016"]
    settled, clashes = settle_repeats(form)
    assert clashes == {}
    assert settled.values["contract_start"] == date(2016, 4, 1)


def test_an_older_label_and_todays_label_giving_different_answers_are_put_to_the_sender() -> None:
    book = load_workbook(io.BytesIO(workbook_form(VALUES)))  # the 2016.1 form
    name = FIELDS_BY_KEY["commissioner_name"]
    assert FORM_2016[name.key][0] != name.label
    book["Request"].append([name.label, "NHS Somewhere Else CCG"])
    out = io.BytesIO()
    book.save(out)
    message = _problem_for(_checked("form.xlsx", out.getvalue()), "commissioner_name")
    assert "NHS Leeds North CCG" in message and "NHS Somewhere Else CCG" in message


def test_a_bulk_sheet_with_a_column_twice_puts_each_rows_clash_to_the_sender() -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "Bulk"
    sheet.append([f.label for f in FIELDS] + [ODS.label])
    sheet.append([VALUES.get(f.key, "") for f in FIELDS] + ["02V"])  # the same answer
    sheet.append([VALUES.get(f.key, "") for f in FIELDS] + ["05C"])  # a different one
    out = io.BytesIO()
    book.save(out)
    reading = read_file("bulk.xlsx", "", out.getvalue(), limits=LIMITS)
    same, different = (validate(form, CTX) for form in reading.forms)
    assert same.complete, same.problems
    assert "05C" in _problem_for(different, "commissioner_ods")


def test_an_email_body_giving_a_label_twice_is_put_to_the_sender() -> None:
    body = body_form(VALUES) + f"{ODS.label}: 99X\n"
    form = read_body(body)
    assert form is not None
    assert "99X" in _problem_for(validate(form, CTX), "commissioner_ods")


def test_a_clash_in_a_field_the_request_type_does_not_use_is_not_put_to_the_sender() -> None:
    ending = {
        "request_type": "End a relationship",
        "existing_reference": "LCR-000001",
        "effective_date": "01/05/2016",
        "requester_name": "Aisha Khan",
        "requester_email": "aisha.khan@nhs.net",
        "dscro": "North",
        "declaration": "Yes",
    }
    form = RawForm(source="x", values=dict(ending), repeats={"datasets": ["SUS"]})
    form.values["datasets"] = "HES"
    validation = validate(form, CTX)
    assert all(p.field_key != "datasets" for p in validation.problems)


def test_a_label_merged_down_over_several_rows_reads_every_rows_value() -> None:
    document = Document()
    table = document.add_table(rows=0, cols=2)
    for f in FIELDS:
        label_cell, value_cell = table.add_row().cells
        label_cell.text, value_cell.text = f.label, VALUES.get(f.key, "")
        if f.key == "datasets":  # one data set a row, under one label cell merged down
            value_cell.text = "SUS"
            for more in ("HES", "Local Provider Flows"):
                below = table.add_row().cells
                below[1].text = more
                label_cell = label_cell.merge(below[0])
    out = io.BytesIO()
    document.save(out)
    validation = _checked("form.docx", out.getvalue())
    assert validation.complete, validation.problems
    assert validation.values["datasets"] == ["SUS", "HES", "Local Provider Flows"]


SIGNATURE = "\nKind regards\n\nAisha Khan\nTel: 0113 825 9999\nEmail: aisha.k@nhs.net\n"


def test_a_signature_after_a_body_form_is_not_a_second_answer() -> None:
    form = read_body(body_form(VALUES) + SIGNATURE)
    assert form is not None and form.repeats == {}
    validation = validate(form, CTX)
    assert validation.complete, validation.problems
    assert validation.values["requester_phone"] == VALUES["requester_phone"]


def test_a_signature_after_a_word_form_of_paragraphs_is_not_a_second_answer() -> None:
    document = Document()
    for line in body_form(VALUES).splitlines() + SIGNATURE.splitlines():
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    validation = _checked("letter.docx", out.getvalue())
    assert validation.complete, validation.problems
    assert validation.values["requester_email"] == VALUES["requester_email"]


def test_a_sign_off_box_naming_someone_else_is_flagged_for_staff_not_put_to_the_sender() -> None:
    validation = _checked("form.docx", _word([("Name", "Dr Helen Morris"), ("Tel", "0113 000")]))
    assert validation.complete, validation.problems
    assert validation.values["requester_name"] == VALUES["requester_name"]  # the first given
    flagged = " ".join(f.message for f in validation.flags if f.field_key == "requester_name")
    assert VALUES["requester_name"] in flagged and "Dr Helen Morris" in flagged


def _workbook_with_merged_labels(title: str) -> bytes:
    """A hand-made workbook: each label merged across A:B with its value in C, and the data
    sets label merged down over three rows, one data set a row."""
    book = Workbook()
    sheet = book.active
    sheet.title = title
    for f in FIELDS:
        values = ["SUS", "HES", "Local Provider Flows"] if f.key == "datasets" else [None]
        first = sheet.max_row + 1 if sheet.max_row > 1 or sheet["A1"].value else 1
        for offset, value in enumerate(values):
            sheet.cell(first + offset, 3, value if f.key == "datasets" else VALUES.get(f.key))
        sheet.cell(first, 1, f.label)
        sheet.merge_cells(start_row=first, start_column=1, end_row=first, end_column=2)
        if len(values) > 1:
            sheet.unmerge_cells(start_row=first, start_column=1, end_row=first, end_column=2)
            sheet.merge_cells(
                start_row=first, start_column=1, end_row=first + len(values) - 1, end_column=2
            )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_excel_labels_merged_across_and_down_read_their_values() -> None:
    for title in ("Request", "Sheet1"):  # the form's own sheet, and a sheet of any name
        validation = _checked(f"{title}.xlsx", _workbook_with_merged_labels(title))
        assert validation.complete, (title, validation.problems)
        assert validation.values["commissioner_ods"] == "02V"
        assert validation.values["datasets"] == ["SUS", "HES", "Local Provider Flows"]
