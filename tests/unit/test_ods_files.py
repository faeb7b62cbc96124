"""Reading ODS's published files: the kind of file told by its content, every fault named."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from intake_bot.domain.organisations import OdsError, OrgKind
from intake_bot.ods import read_ods_file
from intake_bot.ods.files import read_ods_bytes
from tests.ods_files import icb_merger_file, report, report_row, sub_icb_files, trust_file


def test_an_eccg_report_gives_ccgs_closed_in_2022_and_their_sub_icb_locations(
    tmp_path: Path,
) -> None:
    eccg, _ = sub_icb_files(tmp_path)
    read = read_ods_file(eccg)
    assert read.format == "ODS report (CSV)"
    by_code = {o.code: o for o in read.organisations}
    assert by_code["03G"].kind is OrgKind.CCG and by_code["03G"].closed_on == date(2022, 6, 30)
    assert by_code["15F"].kind is OrgKind.SUB_ICB and by_code["15F"].closed_on is None
    assert by_code["15F"].opened_on == date(2022, 7, 1) and by_code["15F"].parent == "QWO"


def test_the_successions_file_is_known_by_its_columns_whatever_its_name(tmp_path: Path) -> None:
    _, succ = sub_icb_files(tmp_path)
    renamed = succ.rename(tmp_path / "download (3).csv")
    read = read_ods_file(renamed)
    assert read.format == "successions (CSV)"
    assert [(s.old_code, s.new_code, s.effective_on) for s in read.successions] == [
        ("03G", "15F", date(2022, 7, 1)),
        ("00C", "16C", date(2022, 7, 1)),
    ]
    assert read.successions[0].reason == "reconfiguration"


def test_a_trust_report_under_any_name_is_read_as_trusts(tmp_path: Path) -> None:
    read = read_ods_file(trust_file(tmp_path, name="export.csv"))
    assert {o.kind for o in read.organisations} == {OrgKind.TRUST}


def test_a_header_row_added_by_hand_is_passed_over(tmp_path: Path) -> None:
    path = report(
        tmp_path / "x.csv",
        ["Organisation Code,Name,National Grouping", report_row("RR8", "LEEDS TEACHING NHS TRUST")],
    )
    assert [o.code for o in read_ods_file(path).organisations] == ["RR8"]


def test_a_fhir_bundle_gives_the_icbs_dates_roles_and_successors_of_the_2026_merger(
    tmp_path: Path,
) -> None:
    read = read_ods_file(icb_merger_file(tmp_path))
    assert read.format == "FHIR Organization (JSON)"
    by_code = {o.code: o for o in read.organisations}
    assert by_code["QJG"].kind is OrgKind.ICB and by_code["QJG"].role == "RO318"
    assert by_code["QJG"].closed_on == date(2026, 3, 31) and by_code["QJG"].parent == "Y61"
    assert by_code["QZE"].opened_on == date(2026, 4, 1)
    assert {(s.old_code, s.new_code, s.effective_on) for s in read.successions} == {
        ("QJG", "QZE", date(2026, 4, 1)),
        ("QH8", "QZE", date(2026, 4, 1)),
    }


def test_a_single_organization_resource_is_read_too() -> None:
    resource = {
        "resourceType": "Organization",
        "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "0de"}],
        "name": "NHS NORTH OF ENGLAND COMMISSIONING SUPPORT UNIT",
        "active": True,
    }
    read = read_ods_bytes("0DE.json", json.dumps(resource).encode())
    assert [(o.code, o.kind) for o in read.organisations] == [("0DE", OrgKind.CSU)]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("eccg.csv", report_row("03G", "NHS LEEDS CCG", opened="2013-04-01").encode(), "line 1"),
        (
            "eccg.csv",
            (
                report_row("03G", "X CCG") + "\n" + report_row("03H", "Y CCG", closed="20221340")
            ).encode(),
            "eccg.csv: line 2: close date '20221340' is not a real date",
        ),
        ("succ.csv", b'"03G","03G","R","20220701",""\n', "named as its own successor"),
        ("notes.csv", b"hello,world\n", "not an ODS file"),
        ("eccg.zip", b"PK\x03\x04\x00\x00binary", "a binary file"),
        ("a.json", b'{"resourceType": "Patient"}', "expected Organization"),
        ("a.json", b"[" * 100_000, "not JSON"),
        (
            "a.json",
            b'{"resourceType": "Organization", "name": "X"}',
            "Organization 1: no identifier",
        ),
    ],
)
def test_a_bad_file_is_one_clear_error_naming_the_file_and_where(
    name: str, data: bytes, message: str
) -> None:
    with pytest.raises(OdsError) as raised:
        read_ods_bytes(name, data)
    assert message in str(raised.value)
    assert str(raised.value).startswith(name)


def test_a_missing_file_is_named() -> None:
    with pytest.raises(OdsError, match=r"nope\.csv: cannot be read"):
        read_ods_file(Path("/nonexistent/nope.csv"))


def test_names_lose_control_characters_and_odd_bundles_are_not_a_crash(tmp_path: Path) -> None:
    hostile = report_row("RR8", "LEEDS \x1b[31mTEACHING\x07 NHS TRUST")
    (org,) = read_ods_bytes("etr.csv", hostile.encode()).organisations
    assert org.name == "LEEDS TEACHING NHS TRUST"
    with pytest.raises(OdsError, match="no FHIR Organization"):
        read_ods_bytes("b.json", b'{"resourceType": "Bundle", "entry": 7}')
    odd = {
        "resourceType": "Organization",
        "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "RR8"}],
        "name": "X NHS TRUST",
        "extension": [{"url": "x/Extension-England-TypedPeriod", "extension": "not a list"}],
    }
    assert read_ods_bytes("o.json", json.dumps(odd).encode()).organisations[0].code == "RR8"
