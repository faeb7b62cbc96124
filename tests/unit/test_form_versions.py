"""The request form's versions: what a file declares, how each version is read, what staff are
told, and the mappings in config/forms/ (in memory and on real files; no database, no mail)."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from docx import Document
from openpyxl import Workbook, load_workbook
from openpyxl.workbook.defined_name import DefinedName

from intake_bot.config_types import ConfigError
from intake_bot.domain.fields import FIELDS_BY_KEY
from intake_bot.domain.form_versions import (
    CURRENT_ONLY,
    CURRENT_VERSION,
    FormVersions,
    MappingError,
    field_names,
    how_read,
    older_version,
    shown_version,
    valid_version,
)
from intake_bot.domain.rawform import RawForm, Versioning
from intake_bot.domain.validation import ValidationContext, validate
from intake_bot.forms.files import read_file
from intake_bot.forms.generate import blank_docx, blank_xlsx, mark_docx_version, mark_xlsx_version
from intake_bot.forms.limits import DEFAULT_LIMITS
from intake_bot.forms.readings import FileReading, RejectCode
from intake_bot.forms.text import read_body
from intake_bot.forms.version_files import load_form_versions
from intake_bot.samples import body_form, docx_form, new_request, xlsx_request
from intake_bot.services.filing import CheckRules
from intake_bot.services.preview import judge
from tests.old_forms import FORM_2016, with_declared_version, word_form, workbook_form
from tests.unit.test_form_roundtrip import strip_controls

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "forms"
VERSIONS = load_form_versions(SHIPPED)
LIMITS = replace(DEFAULT_LIMITS, form_versions=VERSIONS)
VALUES = new_request(0)
DSCROS = ("North", "Midlands and East", "London", "South")


def _read(name: str, data: bytes, versions: FormVersions = VERSIONS) -> FileReading:
    return read_file(name, "", data, limits=replace(DEFAULT_LIMITS, form_versions=versions))


def _one(name: str, data: bytes) -> RawForm:
    reading = _read(name, data)
    assert reading.rejection is None, reading.rejection
    (form,) = reading.forms
    return form


def _as_typed(form: RawForm) -> dict[str, str]:
    return {key: str(value) for key, value in form.values.items() if value not in (None, "")}


# -- the domain: which version, read how ---------------------------------------------------------


def test_each_declaration_resolves_to_how_the_form_is_read() -> None:
    assert VERSIONS.resolve(CURRENT_VERSION).versioning is Versioning.CURRENT
    assert VERSIONS.resolve("2016.1").versioning is Versioning.OLDER
    assert VERSIONS.resolve(None).versioning is Versioning.MISSING
    unmapped = VERSIONS.resolve("2031.1")
    assert (unmapped.versioning, unmapped.version, unmapped.readable) == (
        Versioning.UNMAPPED,
        "2031.1",
        False,
    )


@pytest.mark.parametrize(
    ("declared", "read_as", "versioning"),
    [
        ("v2026.1", "2026.1", Versioning.CURRENT),
        ("2026.01", "2026.1", Versioning.CURRENT),
        ("Version 2026.1", "2026.1", Versioning.CURRENT),
        (" V2016.1 ", "2016.1", Versioning.OLDER),
        ("2016.01", "2016.1", Versioning.OLDER),
        ("v2031.1", "2031.1", Versioning.UNMAPPED),
    ],
)
def test_a_version_written_as_people_write_it_is_that_version(
    declared: str, read_as: str, versioning: Versioning
) -> None:
    resolution = VERSIONS.resolve(declared)
    assert (resolution.versioning, resolution.version) == (versioning, read_as)


def test_a_mapping_named_with_a_v_is_found_however_the_form_writes_it() -> None:
    versions = FormVersions({"v3": field_names("v3", {}, {}, "v3.toml")})
    for declared in ("v3", "V3", "3", "version 3"):
        assert versions.resolve(declared).version == "v3", declared


@pytest.mark.parametrize(
    "declared", ["../../etc/passwd", "2016.1/../x", "", " ", "x" * 21, "é2016", "a b", "2016.1;"]
)
def test_a_malformed_version_is_never_looked_up_nor_kept(declared: str) -> None:
    resolution = VERSIONS.resolve(declared)
    assert resolution.versioning is Versioning.UNMAPPED and resolution.version is None
    assert valid_version(declared) is None


def test_an_older_version_maps_its_own_labels_and_keys_and_falls_back_to_todays() -> None:
    names = VERSIONS.mappings["2016.1"]
    assert names.by_label("CCG / commissioner name *") is FIELDS_BY_KEY["commissioner_name"]
    assert names.by_key("dsa_signed_date") is FIELDS_BY_KEY["contract_signed_date"]
    assert names.by_label("Your name") is FIELDS_BY_KEY["requester_name"]  # unchanged since
    assert names.by_key("requester_email") is FIELDS_BY_KEY["requester_email"]
    assert names.by_label("Favourite colour") is None


def test_a_mapping_may_name_only_todays_fields() -> None:
    with pytest.raises(MappingError, match="not fields of today's form: ccg_name"):
        field_names("2016.1", {"CCG name": "ccg_name"}, {}, "2016.1.toml")
    with pytest.raises(MappingError, match="not a version"):
        field_names("../2016", {}, {}, "x.toml")


def test_staff_are_told_of_an_older_version_and_of_a_missing_one_but_not_of_the_current() -> None:
    ctx = ValidationContext(today=date(2016, 3, 20), dscros=DSCROS)

    def notes(versioning: Versioning, version: str | None) -> list[str]:
        form = RawForm("f.docx", dict(VALUES), version=version, versioning=versioning)
        return [f.message for f in validate(form, ctx).flags if "version" in f.message]

    assert notes(Versioning.CURRENT, CURRENT_VERSION) == []
    assert notes(Versioning.NOT_CARRIED, None) == []
    (older,) = notes(Versioning.OLDER, "2016.1")
    assert "version 2016.1" in older and "sent the current form" in older
    (missing,) = notes(Versioning.MISSING, None)
    assert "carries no version" in missing and "read by its labels" in missing
    assert older_version(RawForm("f", versioning=Versioning.OLDER, version="2016.1")) == "2016.1"
    assert older_version(RawForm("f", versioning=Versioning.MISSING)) is None


# -- the blank form carries the current version --------------------------------------------------


@pytest.mark.parametrize(("name", "blank"), [("b.docx", blank_docx), ("b.xlsx", blank_xlsx)])
def test_the_blank_forms_declare_the_current_version(name: str, blank: object) -> None:
    form = _one(name, blank(DSCROS))  # type: ignore[operator]
    assert (form.version, form.versioning) == (CURRENT_VERSION, Versioning.CURRENT)
    assert how_read(form).startswith(f"the current form (version {CURRENT_VERSION})")


def test_a_word_form_keeps_its_version_in_its_properties_when_its_controls_are_lost() -> None:
    stripped = strip_controls(blank_docx(DSCROS))
    assert _one("pasted.docx", stripped).versioning is Versioning.CURRENT


def test_the_hidden_control_wins_over_the_document_property() -> None:
    data = with_declared_version(word_form(VALUES, version=CURRENT_VERSION), prop="2016.1")
    assert _one("two.docx", data).version == CURRENT_VERSION
    emptied = with_declared_version(word_form(VALUES, version="2016.1"), control="")
    assert _one("emptied.docx", emptied).version == "2016.1"  # the property still says


def test_only_well_formed_versions_can_be_written() -> None:
    with pytest.raises(ValueError, match="not a form version"):
        mark_docx_version(Document(), "../2016")


# -- an older version, read through its mapping --------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("controls-2016.docx", word_form(VALUES)),  # by its control tags (keys)
        ("typed-2016.docx", word_form(VALUES, controls=False)),  # by its labels
        ("request-2016.xlsx", workbook_form(VALUES)),  # by its key column
    ],
)
def test_an_older_form_reads_to_the_same_values_as_todays(name: str, data: bytes) -> None:
    form = _one(name, data)
    assert _as_typed(form) == {k: v for k, v in VALUES.items() if v}
    assert (form.version, form.versioning) == ("2016.1", Versioning.OLDER)
    assert form.unknown_labels == []


def test_without_its_mapping_the_old_labels_would_lose_fields() -> None:
    reading = _read("2016.docx", word_form(VALUES, version=None, controls=False), CURRENT_ONLY)
    (read_as_todays,) = reading.forms
    assert read_as_todays.versioning is Versioning.MISSING
    assert "commissioner_name" not in read_as_todays.values
    assert "CCG / commissioner name" in read_as_todays.unknown_labels


def test_an_older_version_with_no_mapping_is_refused_naming_both_versions() -> None:
    reading = _read("2016.docx", word_form(VALUES), versions=CURRENT_ONLY)
    assert reading.forms == [] and reading.rejection is not None
    assert reading.rejection.code is RejectCode.FORM_VERSION
    assert "version 2016.1 of the request form" in reading.rejection.reason
    assert f"current form (version {CURRENT_VERSION}), attached" in reading.rejection.reason


def test_a_workbook_of_an_unknown_version_is_refused_too() -> None:
    reading = _read("2031.xlsx", workbook_form(VALUES, version="2031.1"))
    assert reading.rejection is not None and reading.rejection.code is RejectCode.FORM_VERSION


def _workbook_naming(version_cell: object, refers_to: str, *, sheet_scoped: bool = False) -> bytes:
    """The 2016.1 workbook whose version name is Excel's own kind: a reference to a cell
    (Formulas > Define Name), or a name scoped to the Request sheet."""
    book = load_workbook(io.BytesIO(workbook_form(VALUES, version=None)))
    sheet = book["Request"]
    sheet["E1"] = version_cell
    name = DefinedName("DSfC_form_version", attr_text=refers_to)
    (sheet.defined_names if sheet_scoped else book.defined_names)["DSfC_form_version"] = name
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize("refers_to", ["Request!$E$1", "='Request'!E1"])
def test_a_workbook_version_name_that_refers_to_a_cell_is_read_from_that_cell(
    refers_to: str,
) -> None:
    form = _one("2016.xlsx", _workbook_naming("2016.1", refers_to))
    assert form.versioning is Versioning.OLDER and form.version == "2016.1"
    assert form.values["commissioner_ods"] == VALUES["commissioner_ods"]  # read by its mapping


def test_a_version_name_referring_to_an_empty_cell_declares_nothing() -> None:
    form = _one("x.xlsx", _workbook_naming(None, "Request!$E$1"))
    assert form.versioning is Versioning.MISSING


def test_a_version_name_scoped_to_a_sheet_is_honoured() -> None:
    form = _one("2016.xlsx", _workbook_naming(None, '"2016.1"', sheet_scoped=True))
    assert form.versioning is Versioning.OLDER
    reading = _read("2031.xlsx", _workbook_naming(None, '"2031.1"', sheet_scoped=True))
    assert reading.rejection is not None and reading.rejection.code is RejectCode.FORM_VERSION


def test_a_declared_version_whose_mapping_finds_nothing_is_refused_not_taken_for_no_form() -> None:
    workbook = Workbook()
    workbook.active.append(["Colour", "Blue"])
    from intake_bot.forms.generate import mark_xlsx_version

    mark_xlsx_version(workbook, "2016.1")
    buffer = io.BytesIO()
    workbook.save(buffer)
    reading = _read("odd.xlsx", buffer.getvalue())
    assert reading.rejection is not None and reading.rejection.code is RejectCode.FORM_VERSION


def _two_old_labels(suffix: str) -> bytes:
    """A 2016.1 form holding only two of its labels, each filled in."""
    rows = [FORM_2016[key][0] for key in ("commissioner_name", "commissioner_ods")]
    buffer = io.BytesIO()
    if suffix == "docx":
        document = Document()
        table = document.add_table(rows=0, cols=2)
        for label in rows:
            table.add_row().cells[0].text = label
            table.rows[-1].cells[1].text = "filled in"
        mark_docx_version(document, "2016.1")
        document.save(buffer)
    else:
        workbook = Workbook()
        workbook.active.title = "Request"
        for label in rows:
            workbook.active.append([label, "filled in"])
        mark_xlsx_version(workbook, "2016.1")
        workbook.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("suffix", ["docx", "xlsx"])
def test_an_older_version_whose_mapping_finds_two_fields_is_refused_in_word_and_excel(
    suffix: str,
) -> None:
    reading = _read(f"few.{suffix}", _two_old_labels(suffix))
    assert reading.rejection is not None and reading.rejection.code is RejectCode.FORM_VERSION


@pytest.mark.parametrize("number", ["9434765919", "943-476-5919", "943 476 5919", "v9434765919"])
def test_ten_digits_are_never_a_version_so_never_repeated(number: str) -> None:
    # An NHS number is ten digits: whatever it is, a version shown to anyone holds none.
    assert valid_version(number) is None and shown_version(number) != number


def test_a_hostile_version_is_not_echoed_and_declares_nothing() -> None:
    hostile = "<script>$(rm -rf ~)"
    data = with_declared_version(word_form(VALUES), control=hostile, prop=hostile)
    reading = _read("odd.docx", data)
    assert reading.rejection is None  # read by its labels, as a form that declares no version
    (form,) = reading.forms
    assert form.version is None and form.versioning is Versioning.MISSING
    said = " ".join(form.version_unread)
    assert "a version we do not recognise" in said
    assert "rm -rf" not in said and "script" not in said


# -- forms without a version ---------------------------------------------------------------------


def test_hand_made_word_and_excel_forms_are_read_by_their_labels_as_missing_a_version() -> None:
    for name, data in (("typed.docx", docx_form(VALUES)), ("typed.xlsx", xlsx_request(VALUES))):
        form = _one(name, data)
        assert form.versioning is Versioning.MISSING and form.version is None
        assert form.values["commissioner_name"] == VALUES["commissioner_name"]


def test_an_email_body_and_a_csv_without_a_version_row_declare_none() -> None:
    body = read_body(body_form(VALUES))
    assert body is not None and body.versioning is Versioning.NOT_CARRIED
    csv = ",".join(FIELDS_BY_KEY[k].label for k in VALUES) + "\n"
    csv += ",".join(f'"{v}"' for v in VALUES.values()) + "\n"
    assert _one("rows.csv", csv.encode()).versioning is Versioning.NOT_CARRIED


# -- `intake-bot parse` ----------------------------------------------------------------------------


def test_parse_shows_the_version_and_how_the_form_was_read() -> None:
    ctx = ValidationContext(today=date(2016, 3, 20), dscros=DSCROS)
    preview = judge(
        "2016.docx", word_form(VALUES), rules=CheckRules(ctx), watched_subject="", limits=LIMITS
    )
    (request,) = preview.requests
    assert (request.form_version, request.read_as) == ("2016.1", "older")
    assert request.how_read.startswith("an older version of the form (2016.1)")
    assert preview.as_dict()["requests"][0]["form_version"] == "2016.1"  # type: ignore[index]


def test_parse_shows_the_version_of_a_form_it_cannot_read_as_it_shows_a_read_one() -> None:
    ctx = ValidationContext(today=date(2016, 3, 20), dscros=DSCROS)
    for declared in ("2031.1", "2019.3"):
        data = with_declared_version(word_form(VALUES), control=declared, prop=declared)
        preview = judge("f.docx", data, rules=CheckRules(ctx), watched_subject="", limits=LIMITS)
        rejections = preview.as_dict()["rejections"]
        assert isinstance(rejections, list)
        (rejected,) = rejections
        assert rejected["code"] == "form_version" and rejected["read_as"] == "unmapped"
        assert rejected["form_version"] == declared
    # the sender's text is never shown as a version: it declares none, and the form is read
    hostile = "<script>$(rm -rf ~)"
    data = with_declared_version(word_form(VALUES), control=hostile, prop=hostile)
    preview = judge("f.docx", data, rules=CheckRules(ctx), watched_subject="", limits=LIMITS)
    assert preview.as_dict()["rejections"] == []
    assert "rm -rf" not in str(preview.as_dict())


# -- config/forms/ -------------------------------------------------------------------------------


def test_the_shipped_mappings_load_and_cover_the_current_version() -> None:
    assert VERSIONS.known == (CURRENT_VERSION, "2016.1")
    assert (SHIPPED / f"{CURRENT_VERSION}.toml").is_file()


def _folder(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp_path / f"{name}.toml").write_text(text, encoding="utf-8")
    return tmp_path


def test_a_new_version_needs_only_a_file(tmp_path: Path) -> None:
    folder = _folder(
        tmp_path, **{"2020.2": 'version = "2020.2"\n[labels]\n"Org" = "commissioner_name"\n'}
    )
    versions = load_form_versions(folder)
    assert versions.resolve("2020.2").versioning is Versioning.OLDER


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('version = "2020.1"\n', "version must be the file's name"),
        ('version = "2020.2"\n[labels]\n"Org" = "organisation"\n', "not fields of today's form"),
        ('version = "2020.2"\n[label]\n', "unknown keys label"),
        ('version = "2020.2"\n[keys]\norg = 3\n', "as text"),
        ("version = ", "not valid TOML"),
        (  # one old label folded two ways: which field it meant would depend on line order
            'version = "2020.2"\n[labels]\n"CCG name" = "commissioner_name"\n'
            '"CCG-name:" = "processor_name"\n',
            "'CCG name' and 'CCG-name:' read as the same but name different fields",
        ),
        (
            'version = "2020.2"\n[keys]\nccg = "commissioner_name"\n" ccg " = "processor_name"\n',
            "read as the same but name different fields",
        ),
    ],
)
def test_a_wrong_mapping_is_refused_naming_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_form_versions(_folder(tmp_path, **{"2020.2": text}))
    assert "paths.forms: 2020.2.toml" in str(caught.value)


def test_a_mapping_saved_with_an_upper_case_extension_is_read(tmp_path: Path) -> None:
    text = 'version = "2020.2"\n[labels]\n"Org" = "commissioner_name"\n'
    (tmp_path / "2020.2.TOML").write_text(text, encoding="utf-8")
    assert load_form_versions(tmp_path).resolve("2020.2").versioning is Versioning.OLDER


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no folder"):
        load_form_versions(tmp_path / "nowhere")


def test_config_check_names_a_wrong_mapping(tmp_path: Path) -> None:
    from intake_bot.checks import check_settings
    from intake_bot.config import load_settings

    folder = _folder(tmp_path, **{"2020.2": 'version = "2020.2"\n[keys]\norg = "organisation"\n'})
    settings = load_settings(env={"INTAKE_BOT_PATHS_FORMS": str(folder)})
    problems = [str(p) for p in check_settings(settings) if p.setting == "paths.forms"]
    assert problems == [
        "paths.forms: 2020.2.toml: not fields of today's form: organisation",
    ]
