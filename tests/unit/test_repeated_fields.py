"""A field given more than once on one form: the same answer twice is fine, an empty prompt does
not hide an answer, and two different answers are a problem the sender is asked to settle, in
every kind of form (Word, Excel, an older version's labels beside today's, a bulk sheet, an
email body)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from openpyxl import Workbook, load_workbook

from intake_bot.domain.fields import FIELDS, FIELDS_BY_KEY
from intake_bot.domain.rawform import RawForm
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


def _table(document: Any, rows: Iterable[tuple[str, str]]) -> None:
    """A table of label | value rows added to `document`."""
    table = document.add_table(rows=0, cols=2)
    for label, value in rows:
        label_cell, value_cell = table.add_row().cells
        label_cell.text, value_cell.text = label, value


def _saved(document: Any) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _labelled(keys: Iterable[str], values: dict[str, str] = VALUES) -> list[tuple[str, str]]:
    return [(FIELDS_BY_KEY[key].label, values.get(key, "")) for key in keys]


def _word(rows: list[tuple[str, str]], values: dict[str, str] = VALUES) -> bytes:
    """A Word form typed by hand: today's label | value rows, then `rows` at the end."""
    document = Document()
    _table(document, _labelled((f.key for f in FIELDS), values) + rows)
    return _saved(document)


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
        repeats={"commissioner_name": [("", True), ("NHS Leeds North CCG", True)]},
    )
    validation = validate(form, CTX)
    assert validation.complete, validation.problems
    assert validation.values["commissioner_name"] == "NHS Leeds North CCG"


@pytest.mark.parametrize(
    ("key", "first", "again"),
    [
        ("contract_start", "01/04/2016", "1 April 2016"),
        ("contract_start", "01/04/2016", "1/4/2016"),
        ("commissioner_ods", "02V", "02v"),
        ("datasets", "SUS, HES", "HES; SUS"),
        ("datasets", "SUS, HES", "SUS\nHES"),
        ("contract_signed", "Yes", "☒"),
        ("contract_signed", "Yes", "Y"),
        ("s251_references", "CAG 7-04(a)/2013", "CAG 7-04 (a)/2013"),
    ],
)
def test_the_same_answer_written_another_way_is_one_answer(
    key: str, first: str, again: str
) -> None:
    label = FIELDS_BY_KEY[key].label
    values = {**VALUES, key: first}
    if key == "s251_references":
        values["purposes"] = "Commissioning; Invoice validation"
    validation = _checked("form.docx", _word([(label, again)], values))
    assert all(p.field_key != key for p in validation.problems), validation.problems
    assert not [f for f in validation.flags if "also given" in f.message], validation.flags


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
    form = RawForm(source="x", values=dict(ending), repeats={"datasets": [("SUS", True)]})
    form.values["datasets"] = "HES"
    validation = validate(form, CTX)
    assert all(p.field_key != "datasets" for p in validation.problems)


def _merged_form(runs: dict[str, list[str]]) -> bytes:
    """Today's form typed by hand, where each field in `runs` has its first text beside its
    label and the rest a row each below, under the label cell merged down over them."""
    document = Document()
    table = document.add_table(rows=0, cols=2)
    for f in FIELDS:
        label_cell, value_cell = table.add_row().cells
        first, *more = runs.get(f.key, [VALUES.get(f.key, "")])
        label_cell.text, value_cell.text = f.label, first
        for text in more:
            below = table.add_row().cells
            below[1].text = text
            label_cell = label_cell.merge(below[0])
    return _saved(document)


def test_a_label_merged_down_over_several_rows_reads_every_rows_value() -> None:
    data = _merged_form({"datasets": ["SUS", "HES", "Local Provider Flows"]})
    validation = _checked("form.docx", data)
    assert validation.complete, validation.problems
    assert validation.values["datasets"] == ["SUS", "HES", "Local Provider Flows"]


SIGNATURE = "\nKind regards\n\nAisha Khan\nTel: 0113 825 9999\nEmail: aisha.k@nhs.net\n"


@pytest.mark.parametrize("sign_off", ["Kind regards", "With kind regards,", "Best,", "--"])
def test_a_signature_after_a_body_form_is_not_a_second_answer(sign_off: str) -> None:
    signature = SIGNATURE.replace("Kind regards", sign_off)
    form = read_body(body_form(VALUES) + signature)
    assert form is not None and form.repeats == {}
    validation = validate(form, CTX)
    assert validation.complete, validation.problems
    assert validation.values["requester_phone"] == VALUES["requester_phone"]


def test_a_signature_after_a_word_form_of_paragraphs_is_not_a_second_answer() -> None:
    document = Document()
    for line in body_form(VALUES).splitlines() + SIGNATURE.splitlines():
        document.add_paragraph(line)
    validation = _checked("letter.docx", _saved(document))
    assert validation.complete, validation.problems
    assert validation.values["requester_email"] == VALUES["requester_email"]


def test_a_sign_off_box_naming_someone_else_is_flagged_for_staff_not_put_to_the_sender() -> None:
    validation = _checked("form.docx", _word([("Name", "Dr Helen Morris"), ("Tel", "0113 000")]))
    assert validation.complete, validation.problems
    assert validation.values["requester_name"] == VALUES["requester_name"]  # the first given
    flagged = " ".join(f.message for f in validation.flags if f.field_key == "requester_name")
    assert "also given as Dr Helen Morris (not used)" in flagged


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


def test_a_box_under_a_loose_label_answering_differently_is_flagged_not_put_to_the_sender() -> None:
    # a signatory box ("Name", "Email", "Date signed") and a letterhead ("Tel") use aliases
    box = [("Name", "Dr Helen Morris"), ("Email", "helen.morris@nhs.net")]
    box += [("Date signed", "20/03/2016"), ("Tel", "0113 000")]
    validation = _checked("form.docx", _word(box))
    assert validation.complete, validation.problems
    assert validation.values["requester_email"] == VALUES["requester_email"]
    flagged = [f.message for f in validation.flags if "also given" in f.message]
    assert any("helen.morris@nhs.net (not used)" in m for m in flagged)
    assert len(flagged) == 4


def test_the_fields_own_label_wins_over_an_alias_given_above_it() -> None:
    document = Document()
    document.add_paragraph("NHS Leeds North CCG, Leeds")  # a letterhead, then the form
    _table(document, [("Email", "leedsnorth.ig@nhs.net")])
    _table(document, _labelled(f.key for f in FIELDS))
    validation = _checked("letter.docx", _saved(document))
    assert validation.complete, validation.problems
    assert validation.values["requester_email"] == VALUES["requester_email"]


def test_an_answer_the_field_cannot_read_beside_one_it_can_is_flagged_not_put() -> None:
    label = FIELDS_BY_KEY["processor_type"].label
    validation = _checked("form.docx", _word([(label, "Commissioning Support Unit (CSU)")]))
    assert validation.complete, validation.problems
    assert any(
        "also given as Commissioning Support Unit (CSU)" in f.message for f in validation.flags
    )


def _merged_table_form(extra: Callable[[Any], None]) -> bytes:
    document = Document()
    table = document.add_table(rows=0, cols=2)
    for f in FIELDS:
        label_cell, value_cell = table.add_row().cells
        label_cell.text, value_cell.text = f.label, VALUES.get(f.key, "")
    extra(document)
    return _saved(document)


def _office_use(document: Any) -> None:
    """A second table after the form: "For office use" merged down over two rows."""
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "For office use"
    table.cell(0, 1).text = "Date received:"
    table.cell(1, 1).text = "Logged by:"
    table.cell(0, 0).merge(table.cell(1, 0))


def test_a_merged_cell_in_another_table_is_not_read_as_more_of_the_last_answer() -> None:
    validation = _checked("form.docx", _merged_table_form(_office_use))
    assert validation.complete, validation.problems
    assert validation.values["declaration"] is True


def test_tick_boxes_one_a_row_under_a_merged_label_read_the_ticked_ones() -> None:
    options = {"purposes": ["☒ Commissioning", "☐ Invoice validation", "☐ Other"]}
    options["contract_signed"] = ["☒ Yes", "☐ No"]
    validation = _checked("form.docx", _merged_form(options))
    assert validation.complete, validation.problems
    assert validation.values["purposes"] == ["Commissioning"]
    assert validation.values["contract_signed"] is True


def test_two_forms_in_two_tables_with_the_request_type_further_down_are_two_requests() -> None:
    document = Document()
    order = [f.key for f in FIELDS if f.key != "request_type"]
    order.insert(4, "request_type")
    for values in (VALUES, new_request(1)):
        _table(document, _labelled(order, values))
    _table(document, _labelled(["requester_phone"]))  # a box repeating one field is not a form
    reading = read_file("two.docx", "", _saved(document), limits=LIMITS)
    first, second = (validate(form, CTX) for form in reading.forms)
    assert first.complete and second.complete, (first.problems, second.problems)
    assert [first.values["commissioner_ods"], second.values["commissioner_ods"]] == ["02V", "00C"]


def _two_tables(first: list[str], second: list[str]) -> bytes:
    """One form typed into two tables (Word splits a table pasted across a page break)."""
    document = Document()
    for keys in (first, second):
        _table(document, _labelled(keys))
    return _saved(document)


def test_one_form_in_two_tables_repeating_some_rows_is_one_request() -> None:
    keys = [f.key for f in FIELDS]
    half = len(keys) // 2
    overlapping = _two_tables(keys[: half + 1], keys[half:])  # one row in both
    contact = _two_tables(keys, ["requester_name", "requester_role", "requester_email"])
    for data in (overlapping, contact):
        reading = read_file("form.docx", "", data, limits=LIMITS)
        (form,) = reading.forms
        assert validate(form, CTX).complete


def test_a_note_under_a_merged_label_of_a_one_value_answer_leaves_the_answer() -> None:
    notes = {"declaration": ["Yes", "Signed: Aisha Khan, 22/03/2016"]}
    notes["commissioner_ods"] = ["02V", "(Leeds)"]
    validation = _checked("form.docx", _merged_form(notes))
    assert validation.complete, validation.problems
    assert validation.values["declaration"] is True
    assert validation.values["commissioner_ods"] == "02V"


def test_a_form_only_in_a_forwarded_message_is_read() -> None:
    body = "Please see below.\n\n---------- Forwarded message ---------\n" + body_form(VALUES)
    form = read_body(body)
    assert form is not None and validate(form, CTX).complete
    own = "Please see our form.\n\n" + body_form(VALUES)
    older = body_form({**VALUES, "commissioner_ods": "05C"})
    form = read_body(own + "\n----- Forwarded by Jo Bloggs/NHS on 01/03/2016 -----\n" + older)
    assert form is not None and form.repeats == {}  # the sender's own form, not the forwarded


@pytest.mark.parametrize(
    "header",
    [
        # Gmail writes the forwarded message's own headers under its marker line
        "From: Aisha Khan <aisha.khan@nhs.net>\nDate: Mon, 2 Mar 2026 at 10:00\n"
        "Subject: LR request\nTo: Sam <sam@nhs.net>\n",
        "From: Aisha Khan <aisha.khan@nhs.net>\nDate: 2 March 2026\n",
    ],
)
def test_a_form_forwarded_under_its_headers_is_read(header: str) -> None:
    body = (
        "Please see the request below.\n\nThanks\nSam\n\n"
        "---------- Forwarded message ---------\n" + header + "\nHello,\n\n" + body_form(VALUES)
    )
    form = read_body(body)
    assert form is not None and validate(form, CTX).complete
    # An Outlook-style quoted reply below the sender's own text is still not read as theirs
    quoted = "Thanks\n\nFrom: Aisha Khan <aisha.khan@nhs.net>\nSent: 2 March 2026\n\n"
    assert read_body(quoted + body_form(VALUES)) is None
