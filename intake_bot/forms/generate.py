"""The blank request form, as .docx and .xlsx, made from the field definitions alone.

The readers rely on what is made here: a Word content control per field tagged with its key,
and workbook sheets named `Request` and `Bulk`. Both carry the form's version (FORM_VERSION):
in Word a custom document property and a hidden, locked content control; in Excel a defined
name (forms/versions.py reads them back). Both blanks are cached, since every reply that asks
for a form attaches one.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from intake_bot.domain.fields import FIELDS, Choice, Field, Kind, Required
from intake_bot.domain.form_versions import (
    CURRENT_VERSION,
    DOCX_CONTROL_TAG,
    DOCX_PROPERTY,
    XLSX_DEFINED_NAME,
    valid_version,
)
from intake_bot.forms.docx_stamp import restamp_controls, set_custom_property
from intake_bot.forms.docx_ticks import placeholder_text
from intake_bot.forms.docx_xml import TICKED, UNTICKED

TITLE = "Legitimate commissioning relationship: request form"
GUIDANCE = (
    "Use this form to ask for a new legitimate commissioning relationship, or to change or end "
    "an existing one. Use one form for each request.",
    "Fill in the right-hand column. Fields marked * are needed for every request; fill in the "
    "others where they apply to your type of request. Write dates in UK order, e.g. 31/03/2017.",
    "Send the completed form back by email as it is (Word .docx or Excel .xlsx); please do not "
    "convert it to PDF or protect it with a password.",
)
BULK_GUIDANCE = "To send several requests at once, use the Bulk sheet: one row for each request."
YES, NO = "Yes", "No"
BOX_FONT = "MS Gothic"  # the font Word itself uses for checkbox controls
FIRST_CONTROL_ID = 100001
VERSION_CONTROL_ID = 100000
FORM_VERSION = CURRENT_VERSION
LABEL_WIDTH, VALUE_WIDTH = Cm(6.5), Cm(10.5)
BULK_ROWS = 500  # rows given data validation on the Bulk sheet
Format = Literal["docx", "xlsx"]


def blank_docx(dscro_names: Sequence[str] = ()) -> bytes:
    """The blank Word form; `dscro_names` are the regional offices offered in a drop-down."""
    return _blank_docx(tuple(dscro_names))


def blank_xlsx(dscro_names: Sequence[str] = ()) -> bytes:
    """The blank workbook: a `Request` sheet for one request and a `Bulk` sheet for many."""
    return _blank_xlsx(tuple(dscro_names))


def write_blank(format: Format, path: str | Path, dscro_names: Sequence[str] = ()) -> None:
    """Write the blank form in `format` ("docx" or "xlsx") to `path`."""
    makers = {"docx": blank_docx, "xlsx": blank_xlsx}
    if format not in makers:
        raise ValueError(f"no blank form in {format!r}; choose docx or xlsx")
    Path(path).write_bytes(makers[format](dscro_names))


def shown_label(field: Field) -> str:
    """The label as printed on the forms: always-required fields carry a `*`."""
    return f"{field.label} *" if field.required is Required.ALWAYS else field.label


def choices_for(field: Field, dscro_names: tuple[str, ...]) -> tuple[str, ...]:
    """What a drop-down offers for a field: its choices, or the configured regional offices."""
    if field.key == "dscro":
        return dscro_names
    return tuple(choice.label for choice in field.choices)


# --- Word --------------------------------------------------------------------------------------


@functools.cache
def _blank_docx(dscro_names: tuple[str, ...]) -> bytes:
    document = Document()
    _page_setup(document)
    document.core_properties.title = TITLE
    document.core_properties.author = ""
    document.add_heading(TITLE, level=1)
    mark_docx_version(document, FORM_VERSION)
    for line in GUIDANCE:
        document.add_paragraph(line)
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    table.columns[0].width, table.columns[1].width = LABEL_WIDTH, VALUE_WIDTH
    for number, field in enumerate(FIELDS):
        label_cell, value_cell = table.add_row().cells
        label_cell.width, value_cell.width = LABEL_WIDTH, VALUE_WIDTH
        label_cell.paragraphs[0].add_run(shown_label(field)).bold = True
        control_id = FIRST_CONTROL_ID + number * 10
        value_cell.paragraphs[0]._p.append(_control(field, control_id, dscro_names))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def mark_docx_version(document: Any, version: str) -> None:
    """Give a python-docx document the form version: a custom document property and, after
    what is already in the body, a hidden paragraph holding a locked control tagged with it.
    A document that carries a version already has both replaced in place (docx_stamp)."""
    if valid_version(version) != version:
        raise ValueError(f"not a form version: {version!r}")
    set_custom_property(document.part.package, DOCX_PROPERTY, version)
    run = _run(version, _element("w:vanish", None))
    if restamp_controls(document.element.body, run):
        return
    hidden = _element("w:rPr", None, _element("w:vanish", None))
    control = _sdt(
        [
            _element("w:alias", {"w:val": DOCX_PROPERTY}),
            _element("w:tag", {"w:val": DOCX_CONTROL_TAG}),
            _element("w:id", {"w:val": str(VERSION_CONTROL_ID)}),
            _element("w:lock", {"w:val": "sdtContentLocked"}),
        ],
        [run],
    )
    paragraph = document.add_paragraph()._p
    paragraph.get_or_add_pPr().append(hidden)  # the paragraph mark hidden too: no blank line
    paragraph.append(control)


def _page_setup(document: Any) -> None:
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(20))
    document.styles["Normal"].font.size = Pt(11)


def _element(tag: str, attributes: dict[str, str] | None = None, *children: Any) -> Any:
    element = OxmlElement(tag, {qn(k): v for k, v in (attributes or {}).items()})
    for child in children:
        element.append(child)
    return element


def _run(text: str, *properties: Any) -> Any:
    t = _element("w:t", None)
    t.text = text
    t.set(qn("xml:space"), "preserve")
    return _element("w:r", None, _element("w:rPr", None, *properties), t)


def _placeholder_run(text: str) -> Any:
    return _run(text, _element("w:color", {"w:val": "808080"}))


def _box_run(ticked: bool = False) -> Any:
    font = {"w:ascii": BOX_FONT, "w:eastAsia": BOX_FONT, "w:hAnsi": BOX_FONT, "w:hint": "eastAsia"}
    return _run(TICKED if ticked else UNTICKED, _element("w:rFonts", font))


def _sdt(properties: list[Any], content: list[Any]) -> Any:
    return _element(
        "w:sdt",
        None,
        _element("w:sdtPr", None, *properties),
        _element("w:sdtContent", None, *content),
    )


def _checkbox_properties() -> Any:
    return _element(
        "w14:checkbox",
        None,
        _element("w14:checked", {"w14:val": "0"}),
        _element("w14:checkedState", {"w14:val": f"{ord(TICKED):04X}", "w14:font": BOX_FONT}),
        _element("w14:uncheckedState", {"w14:val": f"{ord(UNTICKED):04X}", "w14:font": BOX_FONT}),
    )


def _control(field: Field, control_id: int, dscro_names: tuple[str, ...]) -> Any:
    """One content control tagged with the field's key, of the kind that suits the field."""
    properties = [
        _element("w:alias", {"w:val": field.label}),
        _element("w:tag", {"w:val": field.key}),
        _element("w:id", {"w:val": str(control_id)}),
    ]
    if field.kind is Kind.YES_NO:
        return _sdt([*properties, _checkbox_properties()], [_box_run()])
    if field.kind is Kind.PURPOSES:
        return _sdt(properties, _option_boxes(field.choices, control_id))
    prompt = [_placeholder_run(placeholder_text(field))]
    properties.append(_element("w:showingPlcHdr", None))
    choices = choices_for(field, dscro_names)
    if field.kind is Kind.CHOICE and choices:
        items = [_element("w:listItem", {"w:displayText": c, "w:value": c}) for c in choices]
        return _sdt([*properties, _element("w:dropDownList", None, *items)], prompt)
    if field.kind is Kind.DATE:
        return _sdt([*properties, _date_properties()], prompt)
    if field.kind in (Kind.LONG_TEXT, Kind.LIST, Kind.CAG_REFS):
        # Rich text, not multi-line plain text: LibreOffice moves a plain text control's line
        # breaks out of it, running the lines together.
        return _sdt(properties, prompt)
    return _sdt([*properties, _element("w:text", None)], prompt)


def _date_properties() -> Any:
    return _element(
        "w:date",
        None,
        _element("w:dateFormat", {"w:val": "dd/MM/yyyy"}),
        _element("w:lid", {"w:val": "en-GB"}),
        _element("w:storeMappedDataAs", {"w:val": "dateTime"}),
        _element("w:calendar", {"w:val": "gregorian"}),
    )


def _option_boxes(choices: Sequence[Choice], control_id: int) -> list[Any]:
    """A checkbox control and its label for each choice, one to a line."""
    content: list[Any] = []
    for offset, choice in enumerate(choices, start=1):
        if content:
            content.append(_element("w:r", None, _element("w:br", None)))
        box_id = _element("w:id", {"w:val": str(control_id + offset)})
        content.append(_sdt([box_id, _checkbox_properties()], [_box_run()]))
        content.append(_run(f" {choice.label}"))
    return content


# --- Excel -------------------------------------------------------------------------------------


@functools.cache
def _blank_xlsx(dscro_names: tuple[str, ...]) -> bytes:
    workbook = Workbook()
    request = workbook.active
    request.title = "Request"
    bulk = workbook.create_sheet("Bulk")
    lists = workbook.create_sheet("Lists")
    lists.sheet_state = "hidden"
    validations = _list_validations(lists, dscro_names)
    _fill_request_sheet(request, validations)
    _fill_bulk_sheet(bulk, validations)
    mark_xlsx_version(workbook, FORM_VERSION)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def mark_xlsx_version(workbook: Any, version: str) -> None:
    """Give an openpyxl workbook the form version: a defined name holding it as text."""
    if valid_version(version) != version:
        raise ValueError(f"not a form version: {version!r}")
    defined = DefinedName(XLSX_DEFINED_NAME, attr_text=f'"{version}"', hidden=True)
    workbook.defined_names[XLSX_DEFINED_NAME] = defined


def _list_validations(lists: Any, dscro_names: tuple[str, ...]) -> dict[str, str]:
    """A drop-down source formula for each field with a fixed set of answers, by key."""
    formulas: dict[str, str] = {}
    column = 0
    for field in FIELDS:
        if field.kind is Kind.YES_NO:
            formulas[field.key] = f'"{YES},{NO}"'
            continue
        choices = choices_for(field, dscro_names) if field.kind is Kind.CHOICE else ()
        if not choices:
            continue
        column += 1
        letter = get_column_letter(column)
        for row, choice in enumerate(choices, start=1):
            lists.cell(row=row, column=column, value=choice)
        formulas[field.key] = f"{quote_sheetname(lists.title)}!${letter}$1:${letter}${len(choices)}"
    return formulas


def _validation(field: Field, formula: str) -> DataValidation:
    return DataValidation(
        type="list",
        formula1=formula,
        allow_blank=True,
        showErrorMessage=True,
        errorTitle=field.label[:32],
        error=f"Please choose {field.hint}."[:255],
        showInputMessage=True,
        promptTitle=field.label[:32],
        prompt=field.hint[:255],
    )


def _fill_request_sheet(sheet: Any, formulas: dict[str, str]) -> None:
    sheet["A1"] = TITLE
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A2"] = " ".join((*GUIDANCE, BULK_GUIDANCE))
    sheet["A2"].alignment = Alignment(wrap_text=True, vertical="top")
    sheet.merge_cells("A2:B2")
    sheet.row_dimensions[2].height = 90
    first_row = 4
    for row, field in enumerate(FIELDS, start=first_row):
        sheet.cell(row=row, column=1, value=shown_label(field)).font = Font(bold=True)
        sheet.cell(row=row, column=1).alignment = Alignment(wrap_text=True, vertical="top")
        _format_value_cell(sheet.cell(row=row, column=2), field)
        sheet.cell(row=row, column=3, value=field.key)  # read before the label, if both exist
        if field.key in formulas:
            validation = _validation(field, formulas[field.key])
            sheet.add_data_validation(validation)
            validation.add(f"B{row}")
    sheet.column_dimensions["A"].width = 55
    sheet.column_dimensions["B"].width = 50
    sheet.column_dimensions["C"].hidden = True


def _fill_bulk_sheet(sheet: Any, formulas: dict[str, str]) -> None:
    for column, field in enumerate(FIELDS, start=1):
        header = sheet.cell(row=1, column=column, value=shown_label(field))
        header.font = Font(bold=True)
        header.alignment = Alignment(wrap_text=True, vertical="top")
        letter = get_column_letter(column)
        # Styled as whole columns: formatted empty cells would make every read slower.
        _format_value_cell(sheet.column_dimensions[letter], field)
        sheet.column_dimensions[letter].width = 24
        if field.key in formulas:
            validation = _validation(field, formulas[field.key])
            sheet.add_data_validation(validation)
            validation.add(f"{letter}2:{letter}{BULK_ROWS + 1}")
    sheet.freeze_panes = "A2"
    sheet.row_dimensions[1].height = 60


def _format_value_cell(cell: Any, field: Field) -> None:
    """Number format and wrapping for a value cell (or a whole column's dimension)."""
    if field.kind is Kind.DATE:
        cell.number_format = "DD/MM/YYYY"
    elif field.kind in (Kind.LONG_TEXT, Kind.LIST, Kind.PURPOSES, Kind.CAG_REFS):
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    elif field.kind is Kind.ODS:
        cell.number_format = "@"  # text, so that 00C keeps its zeros
