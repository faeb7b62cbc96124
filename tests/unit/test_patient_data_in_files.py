"""An NHS number anywhere in an attachment's text holds the message (issue 9, finding 10): not
only in the form's fields but in a paragraph, a note column, another sheet, a number cell, a
text or HTML attachment, and in a file that is refused. A ten-digit reference that fails the
check is not caught."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from docx import Document
from openpyxl import Workbook, load_workbook

from intake_bot.domain.records import Request
from intake_bot.forms.files import read_file
from intake_bot.samples import DOCX, XLSX, docx_form, email, new_request, xlsx_request
from intake_bot.services.classify import Kind
from intake_bot.services.preview import patient_data_in_file
from tests.fakes.intake import make_rig

NHS_NUMBER = "943 476 5919"  # passes Modulus 11
NOT_NHS = "943 476 5918"  # fails it


def _docx_with_paragraph(text: str) -> bytes:
    doc = Document(io.BytesIO(docx_form(new_request(0))))
    doc.add_paragraph(f"Notes: the patient in question is {text}.")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _docx_with_split_runs(text: str) -> bytes:
    """Word splits a number over runs when it is edited or spell-checked."""
    doc = Document(io.BytesIO(docx_form(new_request(0))))
    paragraph = doc.add_paragraph("Ref ")
    for piece in (text[:3], text[3:7], text[7:]):
        paragraph.add_run(piece)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _xlsx_with(edit: Callable[[Workbook], None]) -> bytes:
    workbook = load_workbook(io.BytesIO(xlsx_request(new_request(0))))
    edit(workbook)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _other_sheet_text(text: str) -> bytes:
    return _xlsx_with(lambda wb: wb.create_sheet("Notes").append(["patient", text]))


def _other_sheet_number(text: str) -> bytes:
    number = int(text.replace(" ", ""))
    return _xlsx_with(lambda wb: wb.create_sheet("Notes").append(["nhs", number]))


def _note_column_number(text: str) -> bytes:
    def edit(wb: Workbook) -> None:
        wb["Request"]["C3"] = int(text.replace(" ", ""))

    return _xlsx_with(edit)


def _docx_version_property(text: str) -> bytes:
    """The form's version document property: the sender's text, never shown to anyone."""
    from intake_bot.domain.form_versions import CURRENT_VERSION
    from tests.old_forms import with_declared_version

    return with_declared_version(docx_form(new_request(0), version=CURRENT_VERSION), prop=text)


def _xlsx_version_name(text: str) -> bytes:
    from openpyxl.workbook.defined_name import DefinedName

    def edit(wb: Workbook) -> None:
        wb.defined_names["DSfC_form_version"] = DefinedName(
            "DSfC_form_version", attr_text=f'"{text}"'
        )

    return _xlsx_with(edit)


FILES: dict[str, tuple[str, str, Callable[[str], bytes]]] = {
    "word version property": ("form.docx", DOCX, _docx_version_property),
    "excel version name": ("form.xlsx", XLSX, _xlsx_version_name),
    "word paragraph": ("form.docx", DOCX, _docx_with_paragraph),
    "word runs": ("form.docx", DOCX, _docx_with_split_runs),
    "sheet text": ("form.xlsx", XLSX, _other_sheet_text),
    "sheet number": ("form.xlsx", XLSX, _other_sheet_number),
    "note column": ("form.xlsx", XLSX, _note_column_number),
    "text file": ("notes.txt", "text/plain", lambda t: f"Patient: {t}\n".encode()),
    "html file": ("copy.html", "text/html", lambda t: f"<p>NHS <b>{t}</b></p>".encode()),
    "csv column": (
        "rows.csv",
        "text/csv",
        lambda t: f"Commissioner,Patient\nLeeds CCG,{t}\n".encode(),
    ),
}


@pytest.mark.parametrize("kind", sorted(FILES))
def test_a_number_in_the_text_of_a_file_is_seen(kind: str) -> None:
    name, content_type, build = FILES[kind]
    assert read_file(name, content_type, build(NHS_NUMBER)).patient_data, kind
    assert not read_file(name, content_type, build(NOT_NHS)).patient_data, kind


@pytest.mark.parametrize("kind", sorted(FILES))
def test_a_message_whose_attachment_text_holds_a_number_is_held(kind: str) -> None:
    name, content_type, build = FILES[kind]
    good = ("form.docx", DOCX, docx_form(new_request(1)))
    rig = make_rig()
    result = rig.ingest(email(attachments=[good, (name, content_type, build(NHS_NUMBER))]))
    assert result.outcome is Kind.QUARANTINED
    assert rig.store.memory.all(Request) == []
    assert [o.kind for o in rig.outbox()] == ["patient_data", "patient_data_staff"]


def test_a_file_that_fails_the_check_is_filed_with_its_form() -> None:
    rig = make_rig()
    raw = email(attachments=[("form.docx", DOCX, _docx_with_paragraph(NOT_NHS))])
    assert rig.ingest(raw).outcome is Kind.FILED


def test_a_refused_file_is_still_looked_at() -> None:
    """A number seen before a reader gave up (here: the file holds no form) still counts."""
    data = f"nothing like the form\n{NHS_NUMBER}\n".encode()
    reading = read_file("scan.txt", "text/plain", data)
    assert reading.rejection is not None and reading.patient_data


def test_parse_names_the_files_text_and_never_the_number() -> None:
    reading = read_file("form.docx", DOCX, _docx_with_paragraph(NHS_NUMBER))
    where = patient_data_in_file(reading)
    assert where == "the text of the file"
    assert "943" not in where
