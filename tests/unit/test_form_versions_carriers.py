"""A form's version carriers re-stamped, version spellings with trailing zero parts, a mapping
for a version newer than the blank the bot sends, and the demo's forms declaring the current
version (in memory and on real files; no database, no mail)."""

from __future__ import annotations

import copy
import io
import re
import zipfile
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from lxml import etree

from intake_bot.domain.form_versions import (
    CURRENT_VERSION,
    FormVersions,
    how_read,
    is_newer,
    older_form,
    valid_version,
    version_key,
)
from intake_bot.domain.rawform import Versioning
from intake_bot.domain.validation import ValidationContext, validate
from intake_bot.forms import version_files
from intake_bot.forms.files import read_file
from intake_bot.forms.generate import blank_docx, mark_docx_version
from intake_bot.forms.limits import DEFAULT_LIMITS
from intake_bot.forms.readings import FileReading, RejectCode
from intake_bot.forms.version_files import load_form_versions
from intake_bot.samples import SUBJECT, demo_messages, new_request
from intake_bot.services.preview import preview
from tests.old_forms import word_form

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "forms"
VERSIONS = load_form_versions(SHIPPED)
CTX = ValidationContext(today=date(2016, 3, 20), dscros=("North", "Midlands and East", "London"))
NEWER = "2031.1"


def _read(name: str, data: bytes, versions: FormVersions = VERSIONS) -> FileReading:
    return read_file(name, "", data, limits=replace(DEFAULT_LIMITS, form_versions=versions))


def _restamped(data: bytes, version: str) -> bytes:
    document = Document(io.BytesIO(data))
    mark_docx_version(document, version)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _with_newer(tmp_path: Path) -> FormVersions:
    for path in SHIPPED.glob("*.toml"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    (tmp_path / f"{NEWER}.toml").write_text(
        f'version = "{NEWER}"\n[labels]\n"Commissioning organisation" = "commissioner_name"\n',
        encoding="utf-8",
    )
    return load_form_versions(tmp_path)


# -- re-stamping a Word form that carries a version ----------------------------------------------


@pytest.mark.parametrize("version", ["2016.1", NEWER, CURRENT_VERSION])
def test_restamping_a_versioned_blank_replaces_each_carrier_in_place(version: str) -> None:
    data = _restamped(blank_docx(), version)

    archive = zipfile.ZipFile(io.BytesIO(data))
    names = archive.namelist()
    assert len(names) == len(set(names))  # no part twice: a valid package
    assert [n for n in names if n.lower() == "docprops/custom.xml"] == ["docProps/custom.xml"]
    assert archive.read("_rels/.rels").count(b"relationships/custom-properties") == 1
    assert archive.read("word/document.xml").count(b'w:val="dsfc_form_version"') == 1
    assert re.findall(rb"<vt:lpwstr>([^<]*)<", archive.read("docProps/custom.xml")) == [
        version.encode()
    ]


def test_a_restamped_blank_is_read_as_the_version_it_was_given(tmp_path: Path) -> None:
    older = _read("old.docx", _restamped(blank_docx(), "2016.1"))
    assert [(f.version, f.versioning) for f in older.forms] == [("2016.1", Versioning.OLDER)]

    unmapped = _read("next.docx", _restamped(blank_docx(), NEWER))
    assert unmapped.rejection is not None and unmapped.rejection.code is RejectCode.FORM_VERSION
    assert f"version {NEWER} of the request form" in unmapped.rejection.reason

    mapped = _read("next.docx", _restamped(blank_docx(), NEWER), _with_newer(tmp_path))
    assert [(f.version, f.versioning) for f in mapped.forms] == [(NEWER, Versioning.OLDER)]


def test_restamping_a_document_with_two_version_controls_leaves_one() -> None:
    document = Document(io.BytesIO(blank_docx()))
    body = document.element.body
    pasted = next(p for p in body.iter(qn("w:p")) if b"dsfc_form_version" in etree.tostring(p))
    body.append(copy.deepcopy(pasted))  # the form pasted twice into one document
    mark_docx_version(document, "2016.1")
    out = io.BytesIO()
    document.save(out)
    xml = zipfile.ZipFile(io.BytesIO(out.getvalue())).read("word/document.xml")
    assert xml.count(b'w:val="dsfc_form_version"') == 1
    assert _read("old.docx", out.getvalue()).forms[0].version == "2016.1"


def test_restamping_keeps_the_documents_other_custom_properties() -> None:
    owner = (
        b'<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="3" name="Owner">'
        b"<vt:lpwstr>IG team</vt:lpwstr></property></Properties>"
    )
    source, out = zipfile.ZipFile(io.BytesIO(blank_docx())), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            part = source.read(info.filename)
            if info.filename == "docProps/custom.xml":
                part = part.replace(b"</Properties>", owner)
            target.writestr(info, part)

    custom = zipfile.ZipFile(io.BytesIO(_restamped(out.getvalue(), "2016.1")))
    texts = re.findall(rb"<vt:lpwstr>([^<]*)<", custom.read("docProps/custom.xml"))
    assert texts == [b"2016.1", b"IG team"]


# -- spellings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("declared", "read_as", "versioning"),
    [
        ("2026.1.0", CURRENT_VERSION, Versioning.CURRENT),
        ("2026.1.0.0", CURRENT_VERSION, Versioning.CURRENT),
        ("v2026.01.0", CURRENT_VERSION, Versioning.CURRENT),
        ("2016.1.0", "2016.1", Versioning.OLDER),
        ("2026.1.1", "2026.1.1", Versioning.UNMAPPED),
        ("2026.0.1", "2026.0.1", Versioning.UNMAPPED),
        ("2026.10", "2026.10", Versioning.UNMAPPED),
    ],
)
def test_trailing_zero_parts_name_the_same_version(
    declared: str, read_as: str, versioning: Versioning
) -> None:
    resolution = VERSIONS.resolve(declared)
    assert (resolution.versioning, resolution.version) == (versioning, read_as)


@pytest.mark.parametrize("declared", ["2026.1.0\u200b", "DSfC 2026.1.0", "2026.1.0;", "x" * 21])
def test_trailing_zeros_let_in_nothing_the_rule_refuses(declared: str) -> None:
    assert valid_version(declared) is None
    resolution = VERSIONS.resolve(declared)
    assert (resolution.versioning, resolution.version) == (Versioning.UNMAPPED, None)


def test_trailing_zeros_change_neither_the_key_of_a_number_nor_the_order() -> None:
    assert version_key("2026.1.0") == version_key("2026.1") != version_key("2026.10")
    assert version_key("0") == version_key("0.0") != ()
    assert not is_newer("2026.1.0", "2026.1") and not is_newer("2026.1", "2026.1.0")
    assert is_newer("2026.1.1", "2026.1.0")


# -- a mapping for a version newer than the blank the bot sends -----------------------------------


def test_a_mapping_newer_than_the_blank_is_read_and_never_tried_on_an_unversioned_form(
    tmp_path: Path,
) -> None:
    versions = _with_newer(tmp_path)
    assert versions.newer == (NEWER,) and NEWER not in versions.older
    assert versions.known[0] == CURRENT_VERSION and NEWER in versions.known
    (line,) = version_files.newer_than_current(tmp_path)
    assert line.startswith(f"paths.forms: {NEWER}.toml is read: forms that declare {NEWER}")
    assert version_files.newer_than_current(SHIPPED) == []


def test_a_form_on_a_newer_version_is_read_flagged_for_staff_and_its_sender_sent_no_form(
    tmp_path: Path,
) -> None:
    values = new_request(0)
    labels = {"commissioner_name": ("Commissioning organisation", "commissioner_name")}
    data = word_form(values, version=NEWER, names=labels, controls=False)

    (form,) = _read("next.docx", data, _with_newer(tmp_path)).forms

    assert (form.version, form.versioning) == (NEWER, Versioning.OLDER)
    assert form.values["commissioner_name"] == values["commissioner_name"]
    assert older_form(form) is None  # no "a newer form exists", no blank attached
    assert "newer than the blank the bot sends" in how_read(form)
    flags = [f.message for f in validate(form, CTX).flags]
    assert flags == [
        f"the form is version {NEWER}: read through config/forms/{NEWER}.toml, newer than the "
        f"blank the bot sends, {CURRENT_VERSION}; check that every value landed in the right "
        "field (the sender was sent no form)"
    ]


# -- the demo ------------------------------------------------------------------------------------


def test_the_demos_forms_carry_the_current_version_and_are_not_flagged_for_it() -> None:
    read = 0
    for what, raw in demo_messages():
        for request in preview("demo.eml", raw, CTX, SUBJECT).requests:
            read += 1
            assert (request.form_version, request.read_as) == (CURRENT_VERSION, "current"), what
            assert not any("version" in flag for flag in request.flags), what
    assert read == 5  # the Word form, three bulk rows, the form with mistakes


# -- carriers that disagree ----------------------------------------------------------------------


def _flags(data: bytes) -> list[str]:
    (form,) = _read("form.docx", data).forms
    return [f.message for f in validate(form, CTX).flags]


def test_a_property_that_disagrees_with_the_hidden_field_is_flagged_naming_both() -> None:
    from tests.old_forms import with_declared_version

    data = with_declared_version(word_form(new_request(0), version=CURRENT_VERSION), prop=NEWER)
    (form,) = _read("form.docx", data).forms
    assert form.version == CURRENT_VERSION  # the hidden field wins, as before
    (flag,) = [f for f in _flags(data) if "more than one version" in f]
    assert f"{CURRENT_VERSION} (hidden field) and {NEWER} (document property)" in flag
    assert f"read as {CURRENT_VERSION}" in flag


def test_a_hostile_losing_carrier_is_named_without_its_text() -> None:
    from tests.old_forms import with_declared_version

    hostile = "<script>$(rm -rf ~)"
    data = with_declared_version(word_form(new_request(0), version=CURRENT_VERSION), prop=hostile)
    (flag,) = [f for f in _flags(data) if "more than one version" in f]
    assert "a version we do not recognise (document property)" in flag
    assert "script" not in flag and "rm -rf" not in flag


def test_two_hidden_fields_that_disagree_are_flagged_and_the_first_wins() -> None:
    document = Document(io.BytesIO(word_form(new_request(0), version=CURRENT_VERSION)))
    body = document.element.body
    control = next(p for p in body.iter(qn("w:p")) if b"dsfc_form_version" in etree.tostring(p))
    pasted = copy.deepcopy(control)
    for text in pasted.iter(qn("w:t")):
        text.text = "2016.1"
    body.append(pasted)  # a second form's version pasted below
    out = io.BytesIO()
    document.save(out)
    (form,) = _read("form.docx", out.getvalue()).forms
    assert form.version == CURRENT_VERSION
    (flag,) = [f for f in _flags(out.getvalue()) if "more than one version" in f]
    assert f"{CURRENT_VERSION} (hidden field) and 2016.1 (hidden field)" in flag


def test_carriers_that_agree_in_another_spelling_are_not_flagged() -> None:
    from tests.old_forms import with_declared_version

    data = with_declared_version(
        word_form(new_request(0), version=CURRENT_VERSION), prop=f"v{CURRENT_VERSION}.0"
    )
    assert not [f for f in _flags(data) if "more than one version" in f]


def _with_properties(data: bytes, *versions: str) -> bytes:
    """`data` with a "DSfC form version" property for each of `versions` in place of its own,
    as a tool that adds properties rather than setting them leaves a file."""
    properties = b"".join(
        b'<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="%d" '
        b'name="DSfC form version"><vt:lpwstr>%s</vt:lpwstr></property>' % (n + 2, v.encode())
        for n, v in enumerate(versions)
    )
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            part = source.read(info.filename)
            if info.filename == "docProps/custom.xml":
                start = part.index(b"<property ")
                part = part[:start] + properties + b"</Properties>"
            target.writestr(info, part)
    return out.getvalue()


def test_two_document_properties_that_disagree_are_flagged_and_the_first_wins() -> None:
    document = Document(io.BytesIO(blank_docx()))
    body = document.element.body
    for control in [p for p in body.iter(qn("w:p")) if b"dsfc_form_version" in etree.tostring(p)]:
        body.remove(control)  # no hidden field: the properties alone declare it
    out = io.BytesIO()
    document.save(out)
    (form,) = _read("form.docx", _with_properties(out.getvalue(), CURRENT_VERSION, "2016.1")).forms
    assert form.version == CURRENT_VERSION
    assert form.version_conflict is not None
    assert (
        f"{CURRENT_VERSION} (document property) and 2016.1 (document property)"
        in form.version_conflict
    )
    (agreeing,) = _read("form.docx", _with_properties(out.getvalue(), "2016.1", "v2016.01")).forms
    assert agreeing.version == "2016.1" and agreeing.version_conflict is None


def test_many_disagreeing_properties_are_named_five_and_counted() -> None:
    data = _with_properties(blank_docx(), *(f"2016.{n}" for n in range(1, 30)))
    (form,) = _read("form.docx", data).forms
    assert form.version_conflict is not None
    assert "and 25 more" in form.version_conflict
