"""Forms that declare no version, or an empty one, and the order of versions: a 2016 form from
before forms carried their version is read by its own labels; an emptied or broken version
marker declares nothing; a mapping file for a version newer than the current form is read."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.workbook.defined_name import DefinedName

from intake_bot.domain.fields import FIELDS_BY_KEY
from intake_bot.domain.form_versions import (
    CURRENT_ONLY,
    CURRENT_VERSION,
    FormVersions,
    how_read,
    older_version,
    version_note,
    version_order,
)
from intake_bot.domain.rawform import RawForm, Versioning
from intake_bot.forms.files import read_file
from intake_bot.forms.limits import DEFAULT_LIMITS
from intake_bot.forms.readings import FileReading
from intake_bot.forms.version_files import changed_meanings, load_form_versions
from intake_bot.samples import docx_form, new_request, xlsx_request
from tests.old_forms import FORM_2016, with_declared_version, word_form, workbook_form

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "forms"
VERSIONS = load_form_versions(SHIPPED)
VALUES = new_request(0)
FILLED = {k: v for k, v in VALUES.items() if v}


def _forms(name: str, data: bytes, versions: FormVersions = VERSIONS) -> list[RawForm]:
    reading: FileReading = read_file(
        name, "", data, limits=replace(DEFAULT_LIMITS, form_versions=versions)
    )
    assert reading.rejection is None, reading.rejection
    return reading.forms


def _typed(form: RawForm) -> dict[str, str]:
    return {k: str(v) for k, v in form.values.items() if v not in (None, "")}


def _csv_2016(by: int) -> bytes:
    """A Bulk sheet of the 2016 form saved as .csv: headers its labels (by=0) or keys (1)."""
    header = ",".join(FORM_2016.get(k, (k, k))[by] for k in VALUES)
    row = ",".join(f'"{v}"' for v in VALUES.values())
    return f"{header}\n{row}\n{row}\n".encode()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("typed-2016.docx", word_form(VALUES, version=None, controls=False)),
        ("controls-2016.docx", word_form(VALUES, version=None)),
        ("2016.xlsx", workbook_form(VALUES, version=None)),
        ("2016-labels.csv", _csv_2016(0)),
        ("2016-keys.csv", _csv_2016(1)),
    ],
)
def test_a_2016_form_declaring_no_version_is_read_by_its_own_labels_and_named(
    name: str, data: bytes
) -> None:
    forms = _forms(name, data)
    for form in forms:
        assert _typed(form) == FILLED and form.unknown_labels == []
        assert form.version is None and form.older_labels == "2016.1"
        assert older_version(form) == "2016.1"  # its sender is sent the current form
        note = version_note(form)
        assert note is not None and "version 2016.1" in note
        assert "version 2016.1" in how_read(form)
    # with no mapping, the same labels name nothing
    assert all("commissioner_ods" not in f.values for f in _forms(name, data, CURRENT_ONLY))


@pytest.mark.parametrize(
    ("name", "data"), [("typed.docx", docx_form(VALUES)), ("typed.xlsx", xlsx_request(VALUES))]
)
def test_a_form_with_todays_labels_and_no_version_names_no_older_one(
    name: str, data: bytes
) -> None:
    (form,) = _forms(name, data)
    assert form.versioning is Versioning.MISSING and form.older_labels is None
    assert older_version(form) is None


def test_a_form_in_todays_labels_is_not_taken_for_an_older_one_by_a_value() -> None:
    # a job title that is also a 2016 label, in a form otherwise all today's
    values = {**VALUES, "requester_role": "SIRO / Caldicott Guardian"}
    for name, data in (("typed.docx", docx_form(values)), ("typed.xlsx", xlsx_request(values))):
        (form,) = _forms(name, data)
        assert (
            form.older_labels is None
            and form.values["requester_role"] == "SIRO / Caldicott Guardian"
        )
    header = ",".join(FIELDS_BY_KEY[k].label for k in values)
    row = ",".join(f'"{v}"' for v in values.values())
    (form,) = _forms("rows.csv", f"{header}\n{row}\n".encode())
    assert form.older_labels is None


def test_a_letter_with_one_control_tagged_with_an_old_key_is_no_form() -> None:
    from docx import Document

    from tests.old_forms import _control

    document = Document()
    document.add_paragraph("Dear colleague, our region is below. Kind regards")
    document.add_paragraph()._p.append(_control("region", "North"))  # 2016's tag for the office
    out = io.BytesIO()
    document.save(out)
    reading = read_file(
        "letter.docx", "", out.getvalue(), limits=replace(DEFAULT_LIMITS, form_versions=VERSIONS)
    )
    assert reading.forms == [] and reading.rejection is not None  # "not our form", as before


def _word_2016_marked(prop: str) -> bytes:
    """The 2016 Word form whose hidden control was emptied and whose property says `prop`."""
    return with_declared_version(word_form(VALUES), control="", prop=prop)


def _workbook_2016_named(refers_to: str) -> bytes:
    book = load_workbook(io.BytesIO(workbook_form(VALUES, version=None)))
    book.defined_names["DSfC_form_version"] = DefinedName("DSfC_form_version", attr_text=refers_to)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty-property.docx", _word_2016_marked("")),
        ("blank-property.docx", _word_2016_marked("   ")),
        ("empty-name.xlsx", _workbook_2016_named('""')),
        ("blank-name.xlsx", _workbook_2016_named('" "')),
        ("broken-name.xlsx", _workbook_2016_named("#REF!")),
        ("broken-cell.xlsx", _workbook_2016_named("#REF!$E$1")),
        ("broken-row.xlsx", _workbook_2016_named("Request!#REF!")),
        ("broken-row-quoted.xlsx", _workbook_2016_named("'Request'!#REF!")),
    ],
)
def test_an_emptied_or_broken_version_marker_declares_nothing(name: str, data: bytes) -> None:
    # not "a version we do not recognise": the form is read by its labels and flagged
    (form,) = _forms(name, data)
    assert form.versioning is Versioning.MISSING
    assert _typed(form) == FILLED


def test_versions_are_ordered_as_they_were_made() -> None:
    assert version_order("2026.9") < version_order("2026.10") < version_order("2027.1")
    assert version_order("2016.1") < version_order(CURRENT_VERSION)
    assert version_order("2015b") < version_order("2016a.1") < version_order(CURRENT_VERSION)
    assert sorted(["2026.10", "2016.1", "2026.9"], key=version_order) == [
        "2016.1",
        "2026.9",
        "2026.10",
    ]


def test_older_versions_are_listed_newest_first(tmp_path: Path) -> None:
    for version in ("2016.1", "2020.9", "2020.10"):
        (tmp_path / f"{version}.toml").write_text(f'version = "{version}"\n', encoding="utf-8")
    versions = load_form_versions(tmp_path)
    assert versions.known == (CURRENT_VERSION, "2020.10", "2020.9", "2016.1")


@pytest.mark.parametrize("older", ["2015b", "2016a.1", "v2", "draft-3"])
def test_a_mapping_for_an_older_or_incomparable_version_loads(tmp_path: Path, older: str) -> None:
    (tmp_path / f"{older}.toml").write_text(f'version = "{older}"\n', encoding="utf-8")
    assert older in load_form_versions(tmp_path).known


@pytest.mark.parametrize("newer", ["2026.2", "2026.10", "2027.1"])
def test_a_mapping_for_a_version_newer_than_the_current_form_loads_as_newer(
    tmp_path: Path, newer: str
) -> None:
    # A new version needs a file, not code; its forms are not told "a newer form exists".
    (tmp_path / f"{newer}.toml").write_text(f'version = "{newer}"\n', encoding="utf-8")
    versions = load_form_versions(tmp_path)
    assert versions.newer == (newer,) and newer not in versions.older


def _older_meaning(tmp_path: Path) -> FormVersions:
    (tmp_path / "2020.1.toml").write_text(
        'version = "2020.1"\n[labels]\n"Commissioning organisation" = "processor_name"\n'
        '"Old name" = "commissioner_name"\n[keys]\nold_ods = "commissioner_ods"\n',
        encoding="utf-8",
    )
    return load_form_versions(tmp_path)


def test_a_word_control_named_with_todays_label_keeps_todays_meaning(tmp_path: Path) -> None:
    # a content control tagged with today's label, in a form that declares no version
    names = {"commissioner_name": ("Commissioning organisation", "Commissioning organisation")}
    data = word_form(VALUES, version=None, names=names)
    (form,) = _forms("controls.docx", data, _older_meaning(tmp_path))
    assert _typed(form) == FILLED
    assert form.older_labels is None


def test_a_2016_form_typed_as_paragraphs_is_read_as_2016s() -> None:
    # Word notes an unknown label only in a label | value row: a form typed as "Label: value"
    # paragraphs reads a few shared labels by today's names, and must still be tried as 2016's
    from docx import Document

    from intake_bot.domain.fields import FIELDS

    document = Document()
    for field in FIELDS:
        label, _ = FORM_2016.get(field.key, (field.label, field.key))
        document.add_paragraph(f"{label}: {VALUES.get(field.key, '')}")
    out = io.BytesIO()
    document.save(out)
    (form,) = _forms("typed.docx", out.getvalue())
    assert form.older_labels == "2016.1" and _typed(form) == FILLED


def test_a_workbook_tried_by_two_versions_is_unpacked_once() -> None:
    from openpyxl import load_workbook

    from intake_bot.forms.limits import Budget
    from intake_bot.forms.xlsx import read_xlsx
    from intake_bot.samples import xlsx_bulk

    book = load_workbook(io.BytesIO(xlsx_bulk([new_request(i) for i in range(3)])))
    sheet = book.active
    sheet.cell(1, sheet.max_column + 1, "Notes")  # a label no version knows: both are tried
    sheet.cell(2, sheet.max_column, "call first")
    out = io.BytesIO()
    book.save(out)
    limits = replace(DEFAULT_LIMITS, form_versions=VERSIONS)
    once = Budget.start(limits)
    read_xlsx(out.getvalue(), "bulk.xlsx", once, VERSIONS)
    plain = Budget.start(limits)
    read_xlsx(xlsx_bulk([new_request(i) for i in range(3)]), "plain.xlsx", plain, VERSIONS)
    assert once.inflated < 1.2 * plain.inflated  # not twice: each part counted once


def test_a_mapping_that_gives_todays_names_another_field_loads_and_the_check_names_them(
    tmp_path: Path,
) -> None:
    # Allowed (an old form may have used a name differently), but a form that declares no
    # version may then be read either way: `config --check` tells the operator which names.
    _older_meaning(tmp_path)
    (tmp_path / "2018.1.toml").write_text(
        'version = "2018.1"\n[labels]\n"Requester email" = "authoriser_email"\n', encoding="utf-8"
    )
    assert "2020.1" in load_form_versions(tmp_path).known
    lines = changed_meanings(tmp_path)
    assert len(lines) == 2
    assert lines[0].startswith("2018.1.toml") and "'Requester email'" in lines[0]
    assert "today requester_email, here authoriser_email" in lines[0]
    assert (
        "'Commissioning organisation' (today commissioner_name, here processor_name)" in (lines[1])
    )
    assert "Old name" not in lines[1] and "old_ods" not in lines[1]  # today's form has neither


def test_the_shipped_2016_mapping_gives_no_name_of_todays_form_another_field() -> None:
    from intake_bot.config import PACKAGED_CONFIG

    assert changed_meanings(PACKAGED_CONFIG / "forms") == []
