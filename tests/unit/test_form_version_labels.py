"""A form whose labels are another version's than the one it declares: the current blank with an
old filled-in table pasted in, an old form stamped with today's version, a form on one older
version that says it is another. Read by the labels it uses, staff told of both versions, and
its sender told only what is true (in memory, on real files; no database, no mail)."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook

from intake_bot.domain.fields import FIELDS
from intake_bot.domain.form_versions import (
    CURRENT_VERSION,
    FormVersions,
    OlderForm,
    how_read,
    older_form,
)
from intake_bot.domain.rawform import RawForm, Versioning
from intake_bot.domain.validation import ValidationContext, validate
from intake_bot.forms.files import read_file
from intake_bot.forms.generate import mark_xlsx_version
from intake_bot.forms.limits import DEFAULT_LIMITS
from intake_bot.forms.version_files import load_form_versions
from intake_bot.samples import new_request
from tests.old_forms import FORM_2016, word_form, workbook_form

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "forms"
VERSIONS = load_form_versions(SHIPPED)
VALUES = new_request(0)
FILLED = {k: v for k, v in VALUES.items() if v}
CTX = ValidationContext(today=date(2016, 3, 20), dscros=("North", "Midlands and East", "London"))
TODAYS: dict[str, tuple[str, str]] = {}  # word_form's names: today's labels and keys


def _forms(name: str, data: bytes, versions: FormVersions = VERSIONS) -> list[RawForm]:
    reading = read_file(name, "", data, limits=replace(DEFAULT_LIMITS, form_versions=versions))
    assert reading.rejection is None, reading.rejection
    return reading.forms


def _typed(form: RawForm) -> dict[str, str]:
    return {k: str(v) for k, v in form.values.items() if v not in (None, "")}


def _flags(form: RawForm) -> list[str]:
    return [flag.message for flag in validate(form, CTX).flags]


def _bulk_2016(version: str) -> bytes:
    """A workbook whose Bulk sheet has the 2016 form's header row, two requests under it, and
    whose version name says `version`."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Bulk"
    sheet.append([FORM_2016.get(f.key, (f.label, f.key))[0] for f in FIELDS])
    for ods in ("02V", "00C"):
        sheet.append([{**VALUES, "commissioner_ods": ods}.get(f.key, "") for f in FIELDS])
    mark_xlsx_version(workbook, version)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


OLD_LABELS_TODAYS_VERSION = [
    ("pasted-2016.docx", word_form(VALUES, version=CURRENT_VERSION)),
    ("typed-2016.docx", word_form(VALUES, version=CURRENT_VERSION, controls=False)),
    ("pasted-2016.xlsx", workbook_form(VALUES, version=CURRENT_VERSION)),
    ("bulk-2016.xlsx", _bulk_2016(CURRENT_VERSION)),
]


@pytest.mark.parametrize(("name", "data"), OLD_LABELS_TODAYS_VERSION)
def test_todays_version_holding_2016_labels_is_read_by_them_and_sent_the_current_form(
    name: str, data: bytes
) -> None:
    forms = _forms(name, data)
    assert forms
    for form in forms:
        assert {k: v for k, v in _typed(form).items() if k != "commissioner_ods"} == {
            k: v for k, v in FILLED.items() if k != "commissioner_ods"
        }
        assert form.unknown_labels == []
        assert (form.version, form.labels_version) == (CURRENT_VERSION, "2016.1")
        # the reply's "a newer form exists" is true: "uses labels of an older version"
        assert older_form(form) == OlderForm("2016.1", declared=False)
        (note,) = [f for f in _flags(form) if "labels are" in f]
        assert f"says it is version {CURRENT_VERSION}" in note and "version 2016.1's" in note
        assert "2016.1" in how_read(form)
        assert not validate(form, CTX).problems  # nothing reported missing


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("todays.docx", word_form(VALUES, version="2016.1", names=TODAYS)),
        ("typed-todays.docx", word_form(VALUES, version="2016.1", names=TODAYS, controls=False)),
        ("todays.xlsx", workbook_form(VALUES, version="2016.1", names=TODAYS)),
    ],
)
def test_todays_labels_declaring_2016_are_read_as_todays_and_not_called_an_older_form(
    name: str, data: bytes
) -> None:
    (form,) = _forms(name, data)
    assert _typed(form) == FILLED
    assert (form.version, form.versioning) == ("2016.1", Versioning.CURRENT)
    assert form.labels_version == CURRENT_VERSION
    assert older_form(form) is None  # its sender is not told it sent an older form
    (note,) = [f for f in _flags(form) if "labels are" in f]
    assert "says it is version 2016.1" in note and "today's" in note
    assert "sent the current form" not in note


@pytest.mark.parametrize(
    ("name", "data", "version", "versioning"),
    [
        ("2016.docx", word_form(VALUES), "2016.1", Versioning.OLDER),
        ("2016.xlsx", workbook_form(VALUES), "2016.1", Versioning.OLDER),
        ("bulk-2016.xlsx", _bulk_2016("2016.1"), "2016.1", Versioning.OLDER),
        (
            "todays.docx",
            word_form(VALUES, version=CURRENT_VERSION, names=TODAYS),
            CURRENT_VERSION,
            Versioning.CURRENT,
        ),
        (  # today's form with one label typed the 2016 way is still today's
            "one-old-label.docx",
            word_form(
                VALUES,
                version=CURRENT_VERSION,
                names={"commissioner_name": (FORM_2016["commissioner_name"][0], "x")},
                controls=False,
            ),
            CURRENT_VERSION,
            Versioning.CURRENT,
        ),
    ],
)
def test_a_form_whose_declared_labels_read_it_stays_as_it_declares(
    name: str, data: bytes, version: str, versioning: Versioning
) -> None:
    for form in _forms(name, data):
        assert (form.version, form.versioning, form.labels_version) == (version, versioning, None)
        assert not [f for f in _flags(form) if "labels are" in f]


def test_another_older_versions_labels_win_over_the_older_one_declared(tmp_path: Path) -> None:
    for path in SHIPPED.glob("*.toml"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    renamed = {
        "commissioner_name": "Commissioning body",
        "commissioner_ods": "Commissioning body ODS",
        "processor_name": "Processing body",
        "processor_ods": "Processing body ODS",
        "requester_name": "Contact name",
        "requester_email": "Contact email",
        "contract_reference": "Agreement number",
    }
    lines = "".join(f'"{label}" = "{key}"\n' for key, label in renamed.items())
    (tmp_path / "2020.1.toml").write_text(
        f'version = "2020.1"\n[labels]\n{lines}', encoding="utf-8"
    )
    versions = load_form_versions(tmp_path)
    names = {key: (label, f"k20_{key}") for key, label in renamed.items()}
    data = word_form(VALUES, version="2016.1", names=names, controls=False)

    (form,) = _forms("2020.docx", data, versions)
    assert _typed(form) == FILLED
    assert (form.version, form.versioning, form.labels_version) == (
        "2016.1",
        Versioning.OLDER,
        "2020.1",
    )
    assert older_form(form) == OlderForm("2020.1", declared=False)


def test_an_older_form_with_rows_typed_todays_way_keeps_every_answer_and_its_version() -> None:
    # A 2016 form whose contact rows were typed with today's labels: 2016.1's mapping reads
    # today's labels too, so reading it as today's would only lose the 2016-only answers.
    kept = ("request_type", "existing_reference", "effective_date", "change_description")
    old = {k: FORM_2016[k] for k in (*kept, "commissioner_name", "commissioner_ods")}
    for controls in (True, False):
        data = word_form(VALUES, version="2016.1", names=old, controls=controls)
        (form,) = _forms("mixed.docx", data)
        assert _typed(form) == FILLED
        assert (form.version, form.versioning, form.labels_version) == (
            "2016.1",
            Versioning.OLDER,
            None,
        )
        assert older_form(form) is not None  # its sender is sent the current form


def _body(old: tuple[str, ...], values: dict[str, str] = VALUES) -> str:
    """An email body of "Label: value" lines: the fields in `old` under 2016.1's labels."""
    lines = []
    for key, value in values.items():
        label = FORM_2016[key][0] if key in old else next(f.label for f in FIELDS if f.key == key)
        lines.append(f"{label}: {value}")
    return "\n".join(lines) + "\n"


def test_a_body_is_named_an_older_versions_from_three_of_its_labels_not_one() -> None:
    from intake_bot.forms.text import read_body

    renamed = ["commissioner_name", "commissioner_ods", "processor_name"]  # 2016's own words
    few = read_body(_body(tuple(renamed)), VERSIONS)
    assert few is not None and few.older_labels == "2016.1"
    assert _typed(few) == FILLED
    # one answer typed with an old label, as in a correction: read, but no old form
    one = read_body(
        _body((renamed[0],), {renamed[0]: VALUES[renamed[0]]}), VERSIONS, correction=True
    )
    assert one is not None and one.older_labels is None
    assert one.values[renamed[0]] not in (None, "")
