"""FHIR records as ODS may write them: one that cannot be used (closed, but not saying when) is
left out and named, the rest of the file imported; a succession's target given as a Reference.
A folder given for a file is named as one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intake_bot.cli import app
from intake_bot.domain.organisations import OdsError, OrgKind
from intake_bot.ods import read_ods_file
from tests.ods_files import bundle, fhir_organisation, report, report_row, typed_period

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
    def closing(target: Mapping[str, object]) -> dict[str, object]:
        record = fhir_organisation("QOQ", "NHS OLD ICB", start="2022-07-01", end="2026-03-31")
        extensions = record["extension"]
        assert isinstance(extensions, list)
        extensions.append(
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


def _closed_sub_icb(role_ended: str) -> dict[str, object]:
    """A sub-ICB location closed on 31/03/2026, as ODS keeps it: its primary role the CCG role
    RO98, its RO319 role no longer active, ended on `role_ended`."""
    record = fhir_organisation(
        "D2P2L", "NHS BLACK COUNTRY ICB - D2P2L", start="2022-07-01", end="2026-03-31"
    )
    extensions = record["extension"]
    assert isinstance(extensions, list)
    record["extension"] = [
        *[e for e in extensions if "OrganisationRole" not in e["url"]],
        _role("RO98", primary=True, start="2013-04-01", end="2026-03-31"),
        _role("RO319", primary=False, start="2022-07-01", end=role_ended),
    ]
    return record


def _role(code: str, *, primary: bool, start: str, end: str) -> dict[str, object]:
    return {
        "url": "https://fhir.nhs.uk/England/StructureDefinition/Extension-England-OrganisationRole",
        "extension": [
            {"url": "roleCode", "valueCodeableConcept": {"coding": [{"code": code}]}},
            {"url": "primaryRole", "valueBoolean": primary},
            typed_period("Legal", {"start": start, "end": end}),
            {"url": "active", "valueBoolean": False},
        ],
    }


def test_a_closed_sub_icb_location_stays_one_as_the_csv_report_lists_it(tmp_path: Path) -> None:
    """Its RO319 role ended with it: read as the CCG role RO98 alone, each import of the CSV
    report and the FHIR record in turn would change its kind back and forth."""
    fhir = read_ods_file(bundle(tmp_path / "closed.json", [_closed_sub_icb("2026-03-31")]))
    row = report_row("D2P2L", "NHS BLACK COUNTRY ICB - D2P2L", opened="20220701", closed="20260331")
    csv = read_ods_file(report(tmp_path / "eccg.csv", [row]))
    [from_fhir], [from_csv] = fhir.organisations, csv.organisations
    assert from_fhir.kind is from_csv.kind is OrgKind.SUB_ICB
    assert from_fhir.closed_on == date(2026, 3, 31)
    # a role that ended years before the organisation closed says nothing of what it was then
    earlier = read_ods_file(bundle(tmp_path / "earlier.json", [_closed_sub_icb("2023-03-31")]))
    assert earlier.organisations[0].kind is OrgKind.CCG
