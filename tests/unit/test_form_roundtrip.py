"""The blank forms we send out, filled in as a person would, read back to the same values."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import nsmap, qn
from openpyxl import load_workbook

from intake_bot.domain.fields import FIELDS, FIELDS_BY_KEY, Kind
from intake_bot.domain.form_versions import CURRENT_VERSION, DOCX_CONTROL_TAG
from intake_bot.domain.rawform import RawValue
from intake_bot.forms.files import read_file
from intake_bot.forms.generate import blank_docx, blank_xlsx, write_blank

DSCROS = ("North", "Midlands and East", "London", "South")

# What a person types, by key: text as typed, True/False for a tick box.
TYPED: dict[str, RawValue] = {
    "request_type": "Change to an existing relationship",
    "existing_reference": "LCR-000123",
    "effective_date": "31/03/2017",
    "change_description": "Adds invoice validation.\nNo other change.",
    "commissioner_name": "NHS Airedale, Wharfedale and Craven CCG",
    "commissioner_ods": "02N",
    "commissioner_type": "CCG",
    "processor_name": "North of England CSU",
    "processor_ods": "0CE",
    "processor_type": "CSU",
    "processor_safe_haven": True,
    "dscro": "North",
    "datasets": "SUS\nHES",
    "purposes": "Commissioning; Invoice validation",
    "s251_references": "CAG 7-07(a)/2013",
    "contract_reference": "CSU-2017-001",
    "contract_signed": True,
    "contract_signed_date": "01/03/2017",
    "contract_start": "01/04/2017",
    "contract_end": "31/03/2018",
    "commissioner_consent": True,
    "processor_consent": False,
    "requester_name": "Jo Bloggs",
    "requester_role": "Information Governance Manager",
    "requester_email": "jo.bloggs@nhs.net",
    "requester_phone": "0113 234 5678",
    "authoriser_name": "Dr A Person",
    "authoriser_email": "a.person@nhs.net",
    "declaration": True,
}


def test_typed_values_cover_every_field() -> None:
    assert set(TYPED) == set(FIELDS_BY_KEY)


# --- Word --------------------------------------------------------------------------------------


def xpath(element: Any, path: str) -> Any:
    return element.xpath(path, namespaces=nsmap)


def controls(document: Any) -> dict[str, Any]:
    """The generated form's content controls by tag."""
    found = {}
    for sdt in document.element.body.iter(qn("w:sdt")):
        tags = xpath(sdt, "./w:sdtPr/w:tag/@w:val")
        if tags:
            found[str(tags[0])] = sdt
    return found


def tick(sdt: Any, ticked: bool) -> None:
    """Tick or untick a checkbox control the way Word does: state and glyph together."""
    xpath(sdt, "./w:sdtPr/w14:checkbox/w14:checked")[0].set(qn("w14:val"), "1" if ticked else "0")
    xpath(sdt, "./w:sdtContent//w:t")[0].text = "☒" if ticked else "☐"


def type_into(sdt: Any, text: str) -> None:
    """Replace a control's prompt with typed text as Word does: a control that holds
    paragraphs gets one a line, an inline one gets line breaks."""
    for shown in xpath(sdt, "./w:sdtPr/w:showingPlcHdr"):
        shown.getparent().remove(shown)
    content = sdt.find(qn("w:sdtContent"))
    holds_paragraphs = bool(xpath(content, "./w:p"))
    for child in list(content):
        content.remove(child)
    lines = text.split("\n")
    if holds_paragraphs:
        for line in lines:
            paragraph = OxmlElement("w:p")
            paragraph.append(_run_of([line]))
            content.append(paragraph)
    else:
        content.append(_run_of(lines))


def _run_of(lines: list[str]) -> Any:
    run = OxmlElement("w:r")
    for number, line in enumerate(lines):
        if number:
            run.append(OxmlElement("w:br"))
        t = OxmlElement("w:t")
        t.text = line
        t.set(qn("xml:space"), "preserve")
        run.append(t)
    return run


def tick_options(sdt: Any, chosen: str) -> None:
    """Tick the option boxes inside a many-choice control whose labels are in `chosen`."""
    wanted = {option.strip() for option in chosen.split(";")}
    for box in xpath(sdt, "./w:sdtContent/w:sdt"):
        label = "".join(xpath(box, "following-sibling::w:r[1]//w:t/text()")).strip()
        tick(box, label in wanted)


def fill_docx(blank: bytes, values: dict[str, RawValue], picked_dates: bool = False) -> bytes:
    document = Document(io.BytesIO(blank))
    by_tag = controls(document)
    for key, value in values.items():
        sdt, field = by_tag[key], FIELDS_BY_KEY[key]
        if field.kind is Kind.YES_NO:
            tick(sdt, bool(value))
        elif field.kind is Kind.PURPOSES:
            tick_options(sdt, str(value))
        else:
            type_into(sdt, str(value))
        if picked_dates and field.kind is Kind.DATE:
            day, month, year = str(value).split("/")
            xpath(sdt, "./w:sdtPr/w:date")[0].set(
                qn("w:fullDate"), f"{year}-{month}-{day}T00:00:00Z"
            )
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def strip_controls(data: bytes) -> bytes:
    """The same document with every content control unwrapped into plain text, as when a form
    is pasted into a new document or saved by a word processor that drops controls."""
    document = Document(io.BytesIO(data))
    body = document.element.body
    while True:
        outer = [sdt for sdt in body.iter(qn("w:sdt")) if not xpath(sdt, "ancestor::w:sdt")]
        if not outer:
            break
        for sdt in outer:
            parent, index = sdt.getparent(), sdt.getparent().index(sdt)
            content = sdt.find(qn("w:sdtContent"))
            for offset, child in enumerate(list(content)):
                parent.insert(index + offset, child)
            parent.remove(sdt)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def read_one(filename: str, data: bytes) -> dict[str, RawValue]:
    reading = read_file(filename, "application/octet-stream", data)
    assert reading.rejection is None, reading.rejection
    [form] = reading.forms
    return form.values


def test_filled_word_form_reads_back_the_same_values() -> None:
    data = fill_docx(blank_docx(DSCROS), TYPED)

    assert read_one("request.docx", data) == TYPED


def test_picked_dates_read_back_as_dates() -> None:
    data = fill_docx(blank_docx(DSCROS), TYPED, picked_dates=True)

    values = read_one("request.docx", data)

    assert values["effective_date"] == date(2017, 3, 31)
    assert values["contract_end"] == date(2018, 3, 31)


def test_form_pasted_twice_into_one_document_gives_two_requests() -> None:
    first = Document(io.BytesIO(fill_docx(blank_docx(DSCROS), TYPED)))
    second_values = {**TYPED, "request_type": "End a relationship", "requester_name": "Sam"}
    second = Document(io.BytesIO(fill_docx(blank_docx(DSCROS), second_values)))
    first.add_paragraph("Second request:")
    first.element.body.insert(len(first.element.body) - 1, second.tables[0]._tbl)
    buffer = io.BytesIO()
    first.save(buffer)

    reading = read_file("two.docx", "", buffer.getvalue())

    assert [f.values for f in reading.forms] == [TYPED, second_values]
    assert [f.source for f in reading.forms] == ["two.docx, form 1", "two.docx, form 2"]


def test_word_form_whose_controls_were_lost_reads_the_same() -> None:
    data = strip_controls(fill_docx(blank_docx(DSCROS), TYPED))

    assert b"<w:sdt>" not in zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml")
    assert read_one("pasted.docx", data) == TYPED


def test_hand_typed_table_with_untidy_labels_reads_the_same() -> None:
    document = Document()
    document.add_paragraph("Legitimate relationship request")
    table = document.add_table(rows=0, cols=2)
    for number, field in enumerate(FIELDS):
        label, value = table.add_row().cells
        label.text = _untidy(field.label, number)
        typed = TYPED[field.key]
        value.text = ("☒" if typed else "☐") if isinstance(typed, bool) else str(typed)
    buffer = io.BytesIO()
    document.save(buffer)

    assert read_one("typed.docx", buffer.getvalue()) == TYPED


def _untidy(label: str, number: int) -> str:
    styles = (
        lambda s: s.upper() + ":",
        lambda s: s.lower() + " *",
        lambda s: f"  {s}  :",
        lambda s: s.replace(" ", "  ") + "*:",
    )
    return styles[number % len(styles)](label)


def test_blank_word_form_has_a_control_of_the_right_kind_for_each_field() -> None:
    document = Document(io.BytesIO(blank_docx(DSCROS)))
    by_tag = controls(document)

    version = by_tag.pop(DOCX_CONTROL_TAG)  # the hidden control that carries the form's version
    assert "".join(xpath(version, ".//w:t/text()")) == CURRENT_VERSION
    assert set(by_tag) == set(FIELDS_BY_KEY)
    for key, sdt in by_tag.items():
        kind = FIELDS_BY_KEY[key].kind
        if kind is Kind.YES_NO:
            assert xpath(sdt, "./w:sdtPr/w14:checkbox")
        elif kind is Kind.CHOICE:
            assert xpath(sdt, "./w:sdtPr/w:dropDownList/w:listItem")
        elif kind is Kind.DATE:
            assert xpath(sdt, "./w:sdtPr/w:date")
    dscro_items = xpath(by_tag["dscro"], "./w:sdtPr/w:dropDownList/w:listItem/@w:displayText")
    assert tuple(dscro_items) == DSCROS


def test_blank_forms_are_cached() -> None:
    assert blank_docx(DSCROS) is blank_docx(list(DSCROS))
    assert blank_xlsx() is blank_xlsx()


def test_write_blank_writes_each_format(tmp_path: Path) -> None:
    write_blank("docx", tmp_path / "form.docx")
    write_blank("xlsx", tmp_path / "form.xlsx", DSCROS)

    assert (tmp_path / "form.docx").read_bytes() == blank_docx()
    assert (tmp_path / "form.xlsx").read_bytes() == blank_xlsx(DSCROS)
    with pytest.raises(ValueError, match="docx or xlsx"):
        write_blank("pdf", tmp_path / "form.pdf")  # type: ignore[arg-type]


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.slow
@pytest.mark.skipif(_soffice() is None, reason="LibreOffice (soffice) is not installed")
def test_word_form_saved_again_by_libreoffice_reads_the_same(tmp_path: Path) -> None:
    source = tmp_path / "in" / "request.docx"
    source.parent.mkdir()
    source.write_bytes(fill_docx(blank_docx(DSCROS), TYPED))
    command = [str(_soffice()), "--headless", f"-env:UserInstallation=file://{tmp_path}/profile"]
    command += ["--convert-to", "docx", "--outdir", str(tmp_path / "out"), str(source)]

    subprocess.run(command, check=True, capture_output=True, timeout=120)

    assert read_one("request.docx", (tmp_path / "out" / "request.docx").read_bytes()) == TYPED


# --- Excel -------------------------------------------------------------------------------------


def test_filled_request_sheet_reads_back_with_a_real_date() -> None:
    book = load_workbook(io.BytesIO(blank_xlsx(DSCROS)))
    sheet = book["Request"]
    rows = {sheet.cell(row=r, column=3).value: r for r in range(1, sheet.max_row + 1)}
    expected = dict(TYPED)
    for key, value in TYPED.items():
        sheet.cell(row=rows[key], column=2, value=_as_cell(value))
        expected[key] = _as_cell(value)
    sheet.cell(row=rows["effective_date"], column=2, value=datetime(2017, 3, 31))
    expected["effective_date"] = date(2017, 3, 31)
    buffer = io.BytesIO()
    book.save(buffer)

    assert read_one("request.xlsx", buffer.getvalue()) == expected


def test_bulk_sheet_with_three_requests_reads_back_as_three_forms() -> None:
    book = load_workbook(io.BytesIO(blank_xlsx(DSCROS)))
    sheet = book["Bulk"]
    columns = {
        FIELDS_BY_KEY[key].label: c
        for c in range(1, sheet.max_column + 1)
        for key in FIELDS_BY_KEY
        if str(sheet.cell(row=1, column=c).value).rstrip(" *") == FIELDS_BY_KEY[key].label
    }
    names = ("NHS Airedale CCG", "NHS Leeds CCG", "NHS Bradford CCG")
    for offset, name in enumerate(names):
        for field in FIELDS:
            value = name if field.key == "commissioner_name" else _as_cell(TYPED[field.key])
            sheet.cell(row=2 + offset, column=columns[field.label], value=value)
        sheet.cell(
            row=2 + offset, column=columns["Contract start date"], value=datetime(2017, 4, 1)
        )
    buffer = io.BytesIO()
    book.save(buffer)

    reading = read_file("bulk.xlsx", "", buffer.getvalue())

    assert [f.values["commissioner_name"] for f in reading.forms] == list(names)
    assert [f.source for f in reading.forms] == [f"bulk.xlsx, Bulk row {n}" for n in (2, 3, 4)]
    assert reading.forms[0].values["contract_start"] == date(2017, 4, 1)
    assert reading.forms[2].values["requester_email"] == TYPED["requester_email"]


def test_blank_workbook_reads_as_one_empty_form() -> None:
    reading = read_file("blank.xlsx", "", blank_xlsx(DSCROS))

    [form] = reading.forms
    assert set(form.values) == set(FIELDS_BY_KEY)
    assert form.filled() == 0


def _as_cell(value: RawValue) -> RawValue:
    """What a person types in a spreadsheet for a tick box."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return value
