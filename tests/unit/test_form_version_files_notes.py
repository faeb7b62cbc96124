"""What `config --check` says of a forms folder: the note for a mapping that gives one of
today's names another field says what that does for its version (older or newer than the blank
the bot sends), and a missing folder is named with what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake_bot.config_types import ConfigError
from intake_bot.forms.version_files import changed_meanings, load_form_versions

SWAPPED = '[labels]\n"Contract start date" = "effective_date"\n'


def _mapping(folder: Path, version: str) -> None:
    (folder / f"{version}.toml").write_text(f'version = "{version}"\n{SWAPPED}', encoding="utf-8")


def test_an_older_version_risks_unversioned_forms_being_read_by_it(tmp_path: Path) -> None:
    _mapping(tmp_path, "2018.1")
    (line,) = changed_meanings(tmp_path)
    assert line.startswith("2018.1.toml gives names of today's form another field")
    assert "declares no version and uses them is read by whichever version" in line


def test_a_newer_version_reads_them_only_for_forms_that_declare_it(tmp_path: Path) -> None:
    # a form that declares no version is never read by a newer version's labels
    _mapping(tmp_path, "2030.1")
    (line,) = changed_meanings(tmp_path)
    assert line.startswith("2030.1.toml gives names of today's form another field")
    assert "Only a form that declares 2030.1 reads them so" in line
    assert "whichever version" not in line


def test_a_missing_folder_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_form_versions(tmp_path / "formz")
    message = str(caught.value)
    assert message.startswith(f"paths.forms: no folder {tmp_path / 'formz'}: make it, or point")
    assert "a version" not in message
