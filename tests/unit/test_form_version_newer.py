"""A form on a version newer than any the bot reads: its sender is told their form is newer
than the bot can read yet and that staff will look at it, not to copy their answers into an
older form (in memory, on real files; no database, no mail)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from intake_bot.domain.form_versions import CURRENT_VERSION, FormVersions
from intake_bot.forms.files import read_file
from intake_bot.forms.limits import DEFAULT_LIMITS
from intake_bot.forms.readings import FileReading, RejectCode
from intake_bot.forms.version_files import load_form_versions
from intake_bot.samples import new_request
from tests.old_forms import word_form, workbook_form

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "forms"
VERSIONS = load_form_versions(SHIPPED)
TODAYS: dict[str, tuple[str, str]] = {}
COPY = "copy your answers into the current form"


def _refused(name: str, data: bytes, versions: FormVersions = VERSIONS) -> str:
    reading: FileReading = read_file(
        name, "", data, limits=replace(DEFAULT_LIMITS, form_versions=versions)
    )
    assert reading.rejection is not None and reading.rejection.code is RejectCode.FORM_VERSION
    return reading.rejection.reason


def _form(suffix: str, version: str) -> bytes:
    build = word_form if suffix == "docx" else workbook_form
    return build(new_request(0), version=version, names=TODAYS)


@pytest.mark.parametrize("suffix", ["docx", "xlsx"])
@pytest.mark.parametrize("version", ["2027.1", "2026.2", "2026.1.1"])
def test_a_newer_unmapped_version_is_told_staff_will_look_not_to_copy_into_ours(
    suffix: str, version: str
) -> None:
    reason = _refused(f"next.{suffix}", _form(suffix, version))
    assert f"version {version} of the request form" in reason
    assert "newer than the forms we can read" in reason and "staff will look" in reason
    assert COPY not in reason and f"(version {CURRENT_VERSION})" not in reason


@pytest.mark.parametrize("version", ["2019.3", "2016.2", "2026.0.1"])
def test_an_older_unmapped_version_is_still_asked_to_use_the_current_form(version: str) -> None:
    reason = _refused("old.docx", _form("docx", version))
    assert f"version {version} of the request form" in reason
    assert f"{COPY} (version {CURRENT_VERSION})" in reason and "newer than" not in reason


def test_a_version_between_the_current_and_a_newer_mapped_one_is_not_called_newer(
    tmp_path: Path,
) -> None:
    """Nor is its sender asked to copy their answers into an older form than theirs: staff
    look at it, as at one newer than every version read."""
    for path in SHIPPED.glob("*.toml"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    (tmp_path / "2031.1.toml").write_text('version = "2031.1"\n', encoding="utf-8")
    versions = load_form_versions(tmp_path)

    between = _refused("gap.docx", _form("docx", "2028.1"), versions)
    assert "newer than the forms we can read" not in between and COPY not in between
    assert "which we cannot read automatically yet, so our staff will look" in between
    beyond = _refused("next.docx", _form("docx", "2032.1"), versions)
    assert "newer than the forms we can read" in beyond and COPY not in beyond
