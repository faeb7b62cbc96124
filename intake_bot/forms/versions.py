"""The form version a .docx or .xlsx declares, read from the package the reader has open.

Word: a hidden content control tagged `dsfc_form_version` in the body (it travels with the
form's content when someone copies it into another document), else the custom document
property "DSfC form version" (docProps/custom.xml). Excel: the workbook's defined name
`DSfC_form_version`. What is found is the sender's text: it is cut short here and judged by
domain/form_versions.py, never used as a name of anything.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator

from lxml import etree

from intake_bot.domain.form_versions import (
    DOCX_CONTROL_TAG,
    DOCX_PROPERTY,
    MAX_VERSION_CHARS,
    XLSX_DEFINED_NAME,
    Resolution,
    shown_version,
    version_key,
)
from intake_bot.forms.docx_xml import W_SDTCONTENT, W_SDTPR, W_TAG, W_VAL, text_of
from intake_bot.forms.ooxml import PackageError, parse_xml, read_part
from intake_bot.forms.xlsx_package import Workbook, cell_coordinate

CUSTOM_PROPERTIES_PART = "docprops/custom.xml"  # lower-cased, as looked up
CUSTOM_PROPERTIES = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
MAX_PROPERTIES_BYTES = 256 * 1024
_KEEP = MAX_VERSION_CHARS + 1  # enough to tell a well-formed version from one that is too long


class UnmappedVersionError(Exception):
    """A form declares a version that no mapping covers, or that its mapping could not read."""

    def __init__(self, resolution: Resolution, declared: str) -> None:
        super().__init__("form version not readable")
        self.resolution = resolution
        self.shown = shown_version(declared)


def declared_in_body(body: etree._Element) -> str | None:
    """The text of the (first) hidden version control in a Word body, if there is one."""
    first = next(_controls(body), None)
    return first or None  # emptied: the document property may still say


def every_control(body: etree._Element) -> list[str]:
    """The text of every version control in a Word body, in document order (emptied ones
    left out): more than one is a form pasted into another, or a stamp gone wrong."""
    return [text for text in _controls(body) if text]


def _controls(body: etree._Element) -> Iterator[str]:
    for tag in body.iter(W_TAG):
        properties = tag.getparent()
        if tag.get(W_VAL) != DOCX_CONTROL_TAG or properties is None or properties.tag != W_SDTPR:
            continue
        content = properties.getnext()
        while content is not None and content.tag != W_SDTCONTENT:
            content = content.getnext()
        yield text_of(content).strip()[:_KEEP] if content is not None else ""


def carriers_disagree(controls: list[str], declared_property: str | None) -> str | None:
    """For staff, when a Word form's carriers name different versions: each, as a person is
    told a version (never the sender's text unless it is a short version), and which won."""
    found = [(text, "hidden field") for text in controls]
    if declared_property:
        found.append((declared_property, "document property"))
    if len({version_key(text) for text, _ in found}) < 2:
        return None
    named = " and ".join(dict.fromkeys(f"{shown_version(t)} ({where})" for t, where in found))
    winner = shown_version(found[0][0])
    return (
        f"the form declares more than one version: {named}; it was read as {winner}, as its "
        "first hidden field says: check which version of the form the sender filled in"
    )


def declared_in_properties(archive: zipfile.ZipFile) -> str | None:
    """The "DSfC form version" custom document property of a Word package, if it has one."""
    names = {name.lower(): name for name in archive.namelist()}
    if CUSTOM_PROPERTIES_PART not in names:
        return None
    data = read_part(archive, names[CUSTOM_PROPERTIES_PART], MAX_PROPERTIES_BYTES)
    try:
        root = parse_xml(data)
    except (PackageError, etree.XMLSyntaxError):
        return None  # a damaged properties part says nothing; the form itself may be fine
    wanted = DOCX_PROPERTY.casefold()
    for prop in root.iter(f"{{{CUSTOM_PROPERTIES}}}property"):
        if (prop.get("name") or "").strip().casefold() == wanted:
            # emptied (Word's property dialog keeps the name): it declares nothing
            return "".join(map(str, prop.itertext())).strip()[:_KEEP] or None
    return None


def declared_in_workbook(workbook: Workbook) -> str | None:
    """The `DSfC_form_version` defined name of a workbook, if it has one: a quoted text
    constant such as "2026.1" (as the blank form writes it), or a reference to the cell that
    holds it (as Excel's Define Name writes one). The workbook's own name wins over a sheet's."""
    wanted = XLSX_DEFINED_NAME.casefold()
    for names in (workbook.defined_names, workbook.sheet_names):
        for name, defined in names.items():
            if str(name).casefold() == wanted:
                text = str(defined.attr_text or "").strip().removeprefix("=").strip()
                cell = _CELL_REFERENCE.fullmatch(text)
                if cell is not None:
                    text = _cell_text(workbook, cell)
                text = text.strip('"').strip()
                # An empty name or cell, or one Excel broke (#REF!, Request!#REF! once its
                # sheet or row was deleted), declares nothing: read by labels, and flagged.
                if not text or _EXCEL_ERROR.search(text):
                    return None
                return text[:_KEEP]
    return None


_EXCEL_ERROR = re.compile(r"#(?:REF|N/?A|NAME|VALUE|NULL|DIV/0|NUM)[!?]?", re.I)


# Sheet!$E$1 or 'A sheet''s name'!E1: one cell, as Excel writes a name that refers to one.
_CELL_REFERENCE = re.compile(r"(?:'((?:[^']|'')+)'|([^'!]+))!\$?([A-Za-z]{1,3})\$?(\d{1,7})")


def _cell_text(workbook: Workbook, cell: re.Match[str]) -> str:
    quoted, plain, letters, digits = cell.groups()
    title = quoted.replace("''", "'") if quoted else plain
    row, column = cell_coordinate(f"{letters}{digits}")
    value = workbook.value_at(title, row, column)
    return "" if value is None else str(value).strip()
