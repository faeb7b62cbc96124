"""What a version carrier may hold that is not a version: an Excel name the reader does not
resolve, a Word property of another type, the sender's text shaped like a link or a phone
number. Each declares nothing (the form is read by its labels, staff told without its text),
never an unknown version; and Excel's carriers that disagree are flagged as Word's are."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from openpyxl.workbook.defined_name import DefinedName

from intake_bot.domain.form_versions import CURRENT_VERSION, valid_version
from intake_bot.domain.rawform import RawForm, Versioning
from intake_bot.domain.validation import ValidationContext, validate
from intake_bot.forms.readings import RejectCode
from intake_bot.samples import new_request
from tests.old_forms import with_declared_version, word_form, workbook_form
from tests.unit.test_form_versions import _one, _read

VALUES = new_request(0)
FILLED = {k: v for k, v in VALUES.items() if v}
CTX = ValidationContext(today=date(2016, 3, 20), dscros=("North", "Midlands and East", "London"))
TODAYS: dict[str, tuple[str, str]] = {}


def _typed(form: RawForm) -> dict[str, str]:
    return {k: str(v) for k, v in form.values.items() if v not in (None, "")}


def _flags(form: RawForm) -> list[str]:
    return [flag.message for flag in validate(form, CTX).flags]


def _workbook(refers_to: str | None, cell: object = None, *, merge: str = "") -> bytes:
    """Today's workbook, its version name referring to `refers_to`, E1 of Request holding
    `cell` (merged over `merge` when given)."""
    book = load_workbook(io.BytesIO(workbook_form(VALUES, version=None, names=TODAYS)))
    sheet = book["Request"]
    sheet["E1"] = cell
    if merge:
        sheet.merge_cells(merge)
    if refers_to is not None:
        name = DefinedName("DSfC_form_version", attr_text=refers_to)
        book.defined_names["DSfC_form_version"] = name
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- Excel names: read when they name one cell or a text, else declare nothing -------------------


@pytest.mark.parametrize(
    ("refers_to", "cell", "merge"),
    [
        ("Request!$E$1:$F$1", CURRENT_VERSION, "E1:F1"),  # Define Name on a merged cell
        ("Request!$E$1:$E$2", CURRENT_VERSION, "E1:F3"),  # within a merged area
        ("'Request'!$E$1", CURRENT_VERSION, ""),
        ("Request!$E$1", 2026.1, ""),  # typed into the cell, Excel keeps a number
        ('="2026.1"', None, ""),
        ("2026.1", None, ""),
    ],
)
def test_an_excel_name_that_resolves_to_one_value_is_read(
    refers_to: str, cell: object, merge: str
) -> None:
    form = _one("form.xlsx", _workbook(refers_to, cell, merge=merge))
    assert (form.version, form.versioning) == (CURRENT_VERSION, Versioning.CURRENT)
    assert not [f for f in _flags(form) if "version" in f]


@pytest.mark.parametrize(
    ("refers_to", "cell"),
    [
        ("Request!$E$1:$F$1", CURRENT_VERSION),  # a range that is no merged cell
        ("Request!$E:$E", CURRENT_VERSION),
        ("Request!$1:$1", CURRENT_VERSION),
        ("(Request!$E$1,Request!$F$1)", CURRENT_VERSION),
        ("Request!$E$1,Request!$F$1", CURRENT_VERSION),
        ('INDIRECT("Request!E1")', CURRENT_VERSION),
        ('="2026"&".1"', None),
        ("Other_name", None),
        ("DSfC_form_version", None),  # itself
        ("Request!$E$1", True),
        ("Request!$E$1", datetime(2026, 1, 1)),
        ("Request!$E$9999999", None),  # past the sheet's last row
        ("Request!$E$0", None),
        ("Request!$ZZZ$1", None),  # past the sheet's last column
        ("Nowhere!$E$1", CURRENT_VERSION),
        ("[1]Request!$E$1", CURRENT_VERSION),  # another workbook
        ("SUM(Request!$E$1)", CURRENT_VERSION),
    ],
)
def test_an_excel_name_the_reader_cannot_resolve_declares_nothing_and_is_flagged(
    refers_to: str, cell: object
) -> None:
    form = _one("form.xlsx", _workbook(refers_to, cell))
    assert form.versioning is Versioning.MISSING and form.version is None
    assert _typed(form) == FILLED
    (note,) = [f for f in _flags(form) if "version" in f]
    assert "could not be read" in note and "defined name" in note
    assert refers_to not in note


# -- Word properties of another type -------------------------------------------------------------

_VT = "<vt:{0}>{1}</vt:{0}>"


@pytest.mark.parametrize(
    "value",
    [
        '<vt:vector size="2" baseType="lpwstr"><vt:lpwstr>2016.1</vt:lpwstr>'
        "<vt:lpwstr>2026.1</vt:lpwstr></vt:vector>",
        _VT.format("bool", "true"),
        _VT.format("i4", "2026"),
        _VT.format("filetime", "2026-01-01T00:00:00Z"),
    ],
)
def test_a_word_property_that_is_not_text_declares_nothing_from_it(value: str) -> None:
    data = with_declared_version(word_form(VALUES, version="2016.1", names=TODAYS), control="")
    data = _edited(
        data,
        "docProps/custom.xml",
        lambda xml: re.sub(rb"<vt:lpwstr>[^<]*</vt:lpwstr>", value.encode(), xml),
    )
    form = _one("form.docx", data)
    assert form.versioning is Versioning.MISSING and _typed(form) == FILLED
    (note,) = [f for f in _flags(form) if "version" in f]
    assert "document property" in note and "could not be read" in note


def _edited(data: bytes, part: str, edit: object) -> bytes:
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info.filename)
            target.writestr(info, edit(body) if info.filename == part else body)  # type: ignore[operator]
    return out.getvalue()


# -- the sender's text: only numbers and dots are a version --------------------------------------

NOT_VERSIONS = [
    "www.evil-site.com",
    "evil.example",
    "0113-825-0000",
    "01138250000",
    "2016.1a",
    "draft-3",
    "2026.1 (draft)",
    "2026.1.",
    "２０２６.１",
    "\u200b2026.1",
    "DSfC 2026.1",
    "943.476.5919",
]


@pytest.mark.parametrize("text", NOT_VERSIONS)
def test_text_that_is_not_a_version_is_never_one(text: str) -> None:
    assert valid_version(text) is None


@pytest.mark.parametrize("text", NOT_VERSIONS)
def test_a_carrier_holding_no_version_declares_nothing_and_is_never_quoted(text: str) -> None:
    word = with_declared_version(
        word_form(VALUES, version=CURRENT_VERSION, names=TODAYS), control=text, prop=text
    )
    excel = _workbook(f'"{text}"')
    for name, data in (("form.docx", word), ("form.xlsx", excel)):
        form = _one(name, data)
        assert form.versioning is Versioning.MISSING and _typed(form) == FILLED, name
        (note,) = [f for f in _flags(form) if "version" in f]
        assert "a version we do not recognise" in note and text not in note


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("Version: 2026.1", CURRENT_VERSION),
        ("version 2026.1", CURRENT_VERSION),
        ("V2026.1", CURRENT_VERSION),
        ("v 2026.1.0", CURRENT_VERSION),
        ("2026.1\u00a0", CURRENT_VERSION),
    ],
)
def test_a_version_as_people_write_it_is_that_version(text: str, version: str) -> None:
    data = with_declared_version(
        word_form(VALUES, version=CURRENT_VERSION, names=TODAYS), control=text, prop=text
    )
    form = _one("form.docx", data)
    assert (form.version, form.versioning) == (version, Versioning.CURRENT)
    assert valid_version(text) is not None


@pytest.mark.parametrize("text", ["2019.3", "v2019.3", "Version: 2019.3", "2026.0.1"])
def test_a_version_shaped_unknown_version_is_still_one_we_cannot_map(text: str) -> None:
    data = with_declared_version(
        word_form(VALUES, version=CURRENT_VERSION, names=TODAYS), control=text, prop=text
    )
    reading = _read("form.docx", data)
    assert reading.rejection is not None and reading.rejection.code is RejectCode.FORM_VERSION
    assert f"version {valid_version(text)} of the request form" in reading.rejection.reason


def test_an_nhs_number_in_a_carrier_is_held_as_patient_data_and_not_a_version() -> None:
    number = "943 476 5919"
    data = with_declared_version(word_form(VALUES, version=CURRENT_VERSION), prop=number)
    assert _read("form.docx", data).patient_data
    assert _read("form.xlsx", _workbook(f'"{number}"')).patient_data
    assert _read("form.xlsx", _workbook("Request!$E$1", number)).patient_data


def test_an_nhs_number_in_any_word_carrier_is_seen_wherever_it_sits() -> None:
    number = "943 476 5919"
    plain = word_form(VALUES, version=None, names=TODAYS)
    # a version control straight in the body, in no paragraph
    control = (
        '<w:sdt><w:sdtPr><w:tag w:val="dsfc_form_version"/></w:sdtPr>'
        f"<w:sdtContent><w:r><w:t>{number}</w:t></w:r></w:sdtContent></w:sdt>"
    )
    bare = _edited(
        plain,
        "word/document.xml",
        lambda b: b.replace(b"<w:body>", b"<w:body>" + control.encode(), 1),
    )
    assert _read("form.docx", bare).patient_data
    # a second property of the version's name: the first is read, each one is seen
    stamped = word_form(VALUES, version=CURRENT_VERSION, names=TODAYS)
    second = (
        '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="9" '
        f'name="DSfC form version"><vt:lpwstr>{number}</vt:lpwstr></property>'
    )
    twice = _edited(
        stamped,
        "docProps/custom.xml",
        lambda b: b.replace(b"</Properties>", second.encode() + b"</Properties>"),
    )
    assert _read("form.docx", twice).patient_data


# -- Excel carriers that disagree ----------------------------------------------------------------


def _two_names(book_level: str, sheet_level: str) -> bytes:
    book = load_workbook(io.BytesIO(workbook_form(VALUES, version=None, names=TODAYS)))
    book.defined_names["DSfC_form_version"] = DefinedName(
        "DSfC_form_version", attr_text=f'"{book_level}"'
    )
    book["Request"].defined_names["DSfC_form_version"] = DefinedName(
        "DSfC_form_version", attr_text=f'"{sheet_level}"'
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_excel_names_that_disagree_are_flagged_and_the_workbooks_own_is_used() -> None:
    form = _one("form.xlsx", _two_names(CURRENT_VERSION, "2016.1"))
    assert (form.version, form.versioning) == (CURRENT_VERSION, Versioning.CURRENT)
    (flag,) = [f for f in _flags(form) if "more than one version" in f]
    assert f"{CURRENT_VERSION} (defined name) and 2016.1 (defined name of a sheet)" in flag
    assert f"read as {CURRENT_VERSION}" in flag


def test_two_workbook_names_that_disagree_are_flagged_and_the_first_is_used() -> None:
    data = _edited(
        _two_names(CURRENT_VERSION, CURRENT_VERSION),
        "xl/workbook.xml",
        lambda xml: xml.replace(
            b"<definedNames>",
            b'<definedNames><definedName name="dsfc_FORM_version">"2016.1"</definedName>',
        ),
    )
    form = _one("form.xlsx", data)
    assert form.version == "2016.1"
    (flag,) = [f for f in _flags(form) if "more than one version" in f]
    assert f"2016.1 (defined name) and {CURRENT_VERSION} (defined name)" in flag


def test_excel_names_that_agree_in_another_spelling_are_not_flagged() -> None:
    form = _one("form.xlsx", _two_names(CURRENT_VERSION, f"v{CURRENT_VERSION}.0"))
    assert form.versioning is Versioning.CURRENT
    assert not [f for f in _flags(form) if "version" in f]


def test_an_unreadable_workbook_name_gives_way_to_a_sheets_name_and_is_flagged() -> None:
    form = _one("form.xlsx", _two_names("www.evil-site.com", CURRENT_VERSION))
    assert (form.version, form.versioning) == (CURRENT_VERSION, Versioning.CURRENT)
    (flag,) = [f for f in _flags(form) if "more than one version" in f]
    assert "a version we do not recognise (defined name)" in flag and "evil" not in flag
