"""FHIR records as ODS may write them: one that cannot be used (closed, but not saying when) is
left out and named, the rest of the file imported; a succession's target given as a Reference.
A folder given for a file is named as one."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from intake_bot.cli import app
from intake_bot.domain.organisations import OdsError
from intake_bot.ods import read_ods_file
from tests.ods_files import bundle, fhir_organisation

OPEN = fhir_organisation("QWO", "NHS WEST YORKSHIRE INTEGRATED CARE BOARD", start="2022-07-01")


def _archived(code: str) -> dict[str, object]:
    """An inactive record with no period at all, as an archived ("RefOnly") record may come."""
    record = fhir_organisation(code, "NHS ARCHIVED CCG", start="2013-04-01")
    record["active"] = False
    record["extension"] = []
    return record


def test_an_inactive_record_without_an_end_date_is_left_out_and_named(tmp_path: Path) -> None:
    read = read_ods_file(bundle(tmp_path / "icbs.json", [OPEN, _archived("5NT")]))
    assert [o.code for o in read.organisations] == ["QWO"]
    assert read.left_out == ("Organization 2: 5NT is inactive but gives no end date",)
    # the search's total counts it: the file is not taken for one page of several
    many = [_archived(f"5N{n}") for n in range(12)]
    read = read_ods_file(bundle(tmp_path / "more.json", [OPEN, *many]))
    assert len(read.left_out) == 12
    # and a page of a larger search is still named as one, though nothing in it can be used
    with pytest.raises(OdsError, match="one page of a paged search"):
        read_ods_file(bundle(tmp_path / "page.json", many, total=40))


def test_a_file_of_nothing_but_such_records_is_refused_naming_why(tmp_path: Path) -> None:
    with pytest.raises(
        OdsError, match=r"^old\.json: none of its 1 Organizations can be used: Organization 1: 5NT"
    ):
        read_ods_file(bundle(tmp_path / "old.json", [_archived("5NT")]))


def test_the_import_prints_what_it_left_out(tmp_path: Path) -> None:
    path = bundle(tmp_path / "icbs.json", [OPEN, _archived("5NT")])
    database = f"sqlite:///{tmp_path / 'bot.db'}"
    runner = CliRunner()
    env = {"INTAKE_BOT_DATABASE_URL": database}
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    result = runner.invoke(app, ["ods", "import", str(path)], env=env)
    assert result.exit_code == 0, result.output
    assert "left out   icbs.json: Organization 2: 5NT is inactive" in result.output
    assert "opened     QWO" in result.output
    again = runner.invoke(app, ["ods", "import", str(path)], env=env)
    said = " ".join(again.output.split())  # as wrapped to the terminal's width
    assert "no changes: the list already says what these files say (but for what was" in said


def test_a_folder_is_named_as_a_folder(tmp_path: Path) -> None:
    with pytest.raises(OdsError, match=r"^\S+: a folder; give the files themselves"):
        read_ods_file(Path("."))


def test_a_successor_given_as_a_reference_is_read(tmp_path: Path) -> None:
    def closing(target: dict[str, object]) -> dict[str, object]:
        record = fhir_organisation("QOQ", "NHS OLD ICB", start="2022-07-01", end="2026-03-31")
        record["extension"].append(  # type: ignore[union-attr]
            {
                "url": "https://fhir.nhs.uk/England/StructureDefinition/Extension-England-OrganisationSuccession",
                "extension": [
                    {"url": "type", "valueCoding": {"code": "Successor"}},
                    {"url": "target", **target},
                    {"url": "effectiveDate", "valueDate": "2026-04-01"},
                ],
            }
        )
        return record

    identifier = {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "QX1"}
    for target in (
        {"valueReference": {"identifier": identifier}},
        {"valueReference": {"reference": "Organization/QX1"}},
        {"valueReference": {"reference": "https://x.test/fhir/Organization/QX1/_history/123"}},
        {"valueReference": {"reference": "https://x.test/Organization/QX1?_format=json"}},
        {"valueReference": {"identifier": {"system": "x"}, "reference": "Organization/QX1"}},
    ):
        read = read_ods_file(bundle(tmp_path / "icb.json", [closing(target)]))
        (succession,) = read.successions
        assert (succession.old_code, succession.new_code) == ("QOQ", "QX1")
    with pytest.raises(OdsError, match="QOQ: successor: no ODS code given"):
        read_ods_file(bundle(tmp_path / "icb.json", [closing({"valueString": "?"})]))
