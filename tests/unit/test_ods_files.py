"""Reading ODS's published files: the kind of file told by its content, every fault named."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from intake_bot.domain.organisations import OdsError, OrgKind
from intake_bot.ods import read_ods_file
from intake_bot.ods.fhir import read_fhir
from intake_bot.ods.files import read_ods_bytes
from tests.ods_files import (
    ODS_SYSTEM,
    as_workbook,
    bundle,
    fhir_organisation,
    icb_merger_file,
    report,
    report_row,
    search_page,
    sub_icb_files,
    succ_row,
    trust_file,
    typed_period,
)


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


def test_a_report_downloaded_as_a_workbook_reads_as_its_csv_with_or_without_a_header(
    tmp_path: Path,
) -> None:
    eccg, succ = sub_icb_files(tmp_path)
    from_csv = read_ods_file(eccg)
    headed = as_workbook(eccg, header=["Organisation Code", "Name", "National Grouping"])
    read = read_ods_file(headed)
    assert read.format == "ODS report (workbook)" and read.name == "eccg.xlsx (eccg)"
    assert read.organisations == from_csv.organisations  # dates, parents and kinds alike
    plain = read_ods_file(as_workbook(succ, dates=False))  # no header, dates kept as text
    assert plain.successions == read_ods_file(succ).successions
    assert plain.format == "successions (workbook)"


def test_a_workbook_of_several_reports_reads_every_sheet_in_a_published_layout(
    tmp_path: Path,
) -> None:
    """An operator may gather the downloads into one workbook (a sheet each, and one of notes):
    every report and the successions are read, not only the first sheet."""
    import csv

    import openpyxl

    eccg, succ = sub_icb_files(tmp_path)
    etr = trust_file(tmp_path)
    book = openpyxl.Workbook()
    notes = book.active
    assert notes is not None
    notes.title = "notes"
    notes.append(["Downloaded from ODS", "2026-05-01"])
    for path in (eccg, etr, succ):
        sheet = book.create_sheet(path.stem)
        for row in csv.reader(path.read_text(encoding="utf-8").splitlines()):
            sheet.append([cell or None for cell in row])
    book.save(tmp_path / "all.xlsx")
    read = read_ods_file(tmp_path / "all.xlsx")
    expected = [*read_ods_file(eccg).organisations, *read_ods_file(etr).organisations]
    assert [(o.code, o.kind, o.closed_on) for o in read.organisations] == [
        (o.code, o.kind, o.closed_on) for o in expected
    ]
    assert read.successions == read_ods_file(succ).successions
    assert read.format == "ODS report (workbook) + successions (workbook)"


def test_a_workbook_without_an_ods_sheet_or_past_its_limits_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import zipfile
    from dataclasses import replace

    import openpyxl

    from intake_bot.ods import workbook

    book = openpyxl.Workbook()
    book.active.append(["Month", "Total"])
    book.save(tmp_path / "notes.xlsx")
    with pytest.raises(OdsError, match=r"^notes\.xlsx: no sheet holds an ODS report"):
        read_ods_file(tmp_path / "notes.xlsx")
    monkeypatch.setattr(workbook, "LIMITS", replace(workbook.LIMITS, inflated_bytes=1024 * 1024))
    as_xml = zipfile.ZipFile(tmp_path / "notes.xlsx")
    sheet = "xl/worksheets/sheet1.xml"
    bomb = io.BytesIO()  # the same workbook, its sheet inflating past the limit
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        for part in as_xml.namelist():
            if part != sheet:
                archive.writestr(part, as_xml.read(part))
        main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
        padding = " " * (2 * 1024 * 1024)
        xml = f'<worksheet xmlns="{main}"><sheetData>{padding}</sheetData></worksheet>'
        archive.writestr(sheet, xml)
    with pytest.raises(OdsError, match=r"^big\.xlsx: the workbook unpacks to more than 1 MB"):
        read_ods_bytes("big.xlsx", bomb.getvalue())


def test_dates_as_a_spreadsheet_saved_them_are_read(tmp_path: Path) -> None:
    row = report_row("RR8", "LEEDS TEACHING NHS TRUST", opened="1998-04-01", closed="2030-03-31")
    (org,) = read_ods_bytes("etr.csv", row.encode()).organisations
    assert (org.opened_on, org.closed_on) == (date(1998, 4, 1), date(2030, 3, 31))
    with pytest.raises(
        OdsError, match=r"close date '2030-02-30' is not a real date \(year, month, day\)"
    ):
        read_ods_bytes("etr.csv", row.replace("2030-03-31", "2030-02-30").encode())


@pytest.mark.parametrize(
    ("opened", "closed"),
    [("01/04/1998 00:00", "31/03/2030 00:00"), ("1998-04-01 00:00:00", "2030-03-31T00:00:00")],
)
def test_dates_a_spreadsheet_saved_with_a_time_are_read(opened: str, closed: str) -> None:
    report_ = report_row("RR8", "LEEDS TEACHING NHS TRUST", opened=opened, closed=closed)
    (org,) = read_ods_bytes("etr.csv", report_.encode()).organisations
    assert (org.opened_on, org.closed_on) == (date(1998, 4, 1), date(2030, 3, 31))
    succession = succ_row("03G", "15F", "01/07/2022 00:00")
    (entry,) = read_ods_bytes("succ.csv", succession.encode()).successions
    assert entry.effective_on == date(2022, 7, 1)


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


def test_a_legal_close_date_closes_an_organisation_whose_operational_period_is_open() -> None:
    def inactive(code: str, name: str, *extensions: dict[str, object]) -> dict[str, object]:
        identifier = {"system": ODS_SYSTEM, "value": code}
        return {"resourceType": "Organization", "identifier": [identifier], "name": name,
                "active": False, "extension": list(extensions)}  # fmt: skip

    closed_in_law = inactive(
        "03G",
        "NHS OLD CCG",
        typed_period("Operational", {"start": "2013-04-01"}),
        typed_period("Legal", {"start": "2013-04-01", "end": "2022-06-30"}),
    )
    older_layout = inactive(
        "RR8",
        "LEEDS TEACHING HOSPITALS NHS TRUST",
        {
            "url": "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-ODSAPI-ActivePeriod-1",
            "valuePeriod": {"start": "1998-04-01", "end": "2030-03-31"},
        },
    )
    bundle = {
        "resourceType": "Bundle",
        "entry": [{"resource": closed_in_law}, {"resource": older_layout}],
    }
    orgs = {o.code: o for o in read_ods_bytes("b.json", json.dumps(bundle).encode()).organisations}
    assert (orgs["03G"].opened_on, orgs["03G"].closed_on) == (date(2013, 4, 1), date(2022, 6, 30))
    assert (orgs["RR8"].opened_on, orgs["RR8"].closed_on) == (date(1998, 4, 1), date(2030, 3, 31))


def _record(code: str, name: str, *extensions: dict[str, object]) -> dict[str, object]:
    identifier = {"system": ODS_SYSTEM, "value": code}
    return {"resourceType": "Organization", "identifier": [identifier], "name": name,
            "active": True, "extension": list(extensions)}  # fmt: skip


def _role_ext(code: str, *, primary: bool | None = None) -> dict[str, object]:
    parts: list[dict[str, object]] = [
        {"url": "roleCode", "valueCodeableConcept": {"coding": [{"code": code}]}},
        {"url": "active", "valueBoolean": True},
    ]
    if primary is not None:
        parts.append({"url": "primaryRole", "valueBoolean": primary})
    url = "https://fhir.nhs.uk/England/StructureDefinition/Extension-England-OrganisationRole"
    return {"url": url, "extension": parts}


def test_an_active_record_open_in_operation_is_open_though_its_legal_end_has_passed() -> None:
    # The CCGs abolished in law on 30 June 2022 kept their codes as sub-ICB locations: ODS
    # gives them a legal end and an open operational period, and the CSV reports list them
    # open. A legal end still ahead closes the organisation on that day, as before.
    operating = _record(
        "15F",
        "NHS WEST YORKSHIRE ICB - 15F",
        typed_period("Legal", {"start": "2018-04-01", "end": "2022-06-30"}),
        typed_period("Operational", {"start": "2018-04-01"}),
    )
    closing = _record(
        "QH8",
        "NHS MID AND SOUTH ESSEX INTEGRATED CARE BOARD",
        typed_period("Legal", {"start": "2022-07-01", "end": "2027-03-31"}),
        typed_period("Operational", {"start": "2022-07-01"}),
    )
    text = json.dumps({"resourceType": "Bundle", "entry": [
        {"resource": operating}, {"resource": closing}]})  # fmt: skip
    orgs = {o.code: o for o in read_fhir("b.json", text, today=date(2026, 12, 7)).organisations}
    assert (orgs["15F"].opened_on, orgs["15F"].closed_on) == (date(2018, 4, 1), None)
    assert orgs["QH8"].closed_on == date(2027, 3, 31)
    # Read on a day before the legal end, the same record closes on it.
    early = read_fhir("b.json", text, today=date(2022, 6, 1)).organisations
    assert {o.code: o.closed_on for o in early}["15F"] == date(2022, 6, 30)


def test_a_legal_end_is_judged_as_of_the_day_the_record_was_written_not_the_import_day() -> None:
    # A file downloaded before a closure and imported after it reads the same: closing on
    # its legal end. Written after that end while still active, it is open in operation.
    def record(written: str) -> str:
        resource = _record(
            "QH8",
            "NHS MID AND SOUTH ESSEX INTEGRATED CARE BOARD",
            typed_period("Legal", {"start": "2022-07-01", "end": "2027-03-31"}),
            typed_period("Operational", {"start": "2022-07-01"}),
        )
        resource["meta"] = {"lastUpdated": f"{written}T09:00:00+00:00"}
        return json.dumps(resource)

    for today in (date(2026, 12, 7), date(2027, 6, 1)):
        (org,) = read_fhir("a.json", record("2026-04-02"), today=today).organisations
        assert org.closed_on == date(2027, 3, 31), today
    (org,) = read_fhir("b.json", record("2027-05-01"), today=date(2026, 12, 7)).organisations
    assert org.closed_on is None
    stamped = json.dumps({"resourceType": "Bundle", "timestamp": "2026-04-02T09:00:00Z",
                          "entry": [{"resource": json.loads(record("x"))}]})  # fmt: skip
    (org,) = read_fhir("c.json", stamped, today=date(2027, 6, 1)).organisations
    assert org.closed_on == date(2027, 3, 31)  # no lastUpdated of its own: the Bundle's


def test_each_bundle_of_a_saved_list_is_judged_by_its_own_timestamp() -> None:
    def page(stamp: str | None, code: str) -> dict[str, object]:
        resource = _record(
            code,
            f"NHS ICB {code}",
            typed_period("Legal", {"start": "2022-07-01", "end": "2026-03-31"}),
            typed_period("Operational", {"start": "2022-07-01"}),
        )
        bundle: dict[str, object] = {"resourceType": "Bundle", "entry": [{"resource": resource}]}
        return bundle | ({"timestamp": stamp} if stamp else {})

    pages = [page("2025-01-01T00:00:00Z", "QAA"), page("2026-06-01T00:00:00Z", "QBB"),
             page(None, "QCC")]  # fmt: skip
    read = read_fhir("pages.json", json.dumps(pages), today=date(2025, 6, 1))
    closed = {o.code: o.closed_on for o in read.organisations}
    # QAA written before its legal end: closes on it. QBB written after it while active:
    # open. QCC gives no day: judged on the day it is read, before the end.
    assert closed == {"QAA": date(2026, 3, 31), "QBB": None, "QCC": date(2026, 3, 31)}


def test_a_sub_icb_location_is_one_though_no_role_is_marked_primary() -> None:
    # It keeps the CCG role (RO98) beside its own (RO319): either order, a sub-ICB location.
    for roles in (["RO98", "RO319"], ["RO319", "RO98"]):
        record = _record("36J", "NHS BRADFORD DISTRICT AND CRAVEN ICB - 36J",
                         *(_role_ext(r) for r in roles))  # fmt: skip
        read = read_fhir("r.json", json.dumps(record)).organisations
        assert [(o.kind, o.role) for o in read] == [(OrgKind.SUB_ICB, "RO319")], roles


def test_entries_a_search_included_beside_its_results_are_left_out() -> None:
    # _revinclude=OrganizationAffiliation:... adds affiliations with search.mode "include".
    org = _record("0DE", "NHS NORTH OF ENGLAND COMMISSIONING SUPPORT UNIT")
    affiliation = {"resourceType": "OrganizationAffiliation", "id": "a1"}
    document = {"resourceType": "Bundle", "type": "searchset", "total": 1, "entry": [
        {"resource": org, "search": {"mode": "match"}},
        {"resource": affiliation, "search": {"mode": "include"}}]}  # fmt: skip
    read = read_fhir("s.json", json.dumps(document))
    assert [o.code for o in read.organisations] == ["0DE"]
    # One that is a result (no include mode) is still refused, naming what it is.
    del document["entry"][1]["search"]  # type: ignore[index]
    with pytest.raises(OdsError, match="OrganizationAffiliation"):
        read_fhir("s.json", json.dumps(document))


def test_a_succession_dated_by_a_typed_period_keeps_its_date() -> None:
    dated = typed_period("Legal", {"start": "2018-04-01"})
    succession: dict[str, object] = {
        "url": "https://fhir.nhs.uk/England/StructureDefinition/Extension-England-OrganisationSuccession",
        "extension": [
            {"url": "type", "valueCoding": {"code": "Successor"}},
            {"url": "target", "valueIdentifier": {"system": ODS_SYSTEM, "value": "15F"}},
            dated,
        ],
    }
    record = _record("03C", "NHS LEEDS WEST CCG", succession)
    read = read_fhir("t.json", json.dumps(record))
    assert [(s.old_code, s.new_code, s.effective_on) for s in read.successions] == [
        ("03C", "15F", date(2018, 4, 1))
    ]


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
        ("eccg.csv", report_row("03G", "NHS LEEDS CCG", opened="2013.04.01").encode(), "line 1"),
        (
            "eccg.csv",
            (
                report_row("03G", "X CCG") + "\n" + report_row("03H", "Y CCG", closed="20221340")
            ).encode(),
            "eccg.csv: line 2: close date '20221340' is not a real date",
        ),
        ("succ.csv", b'"03G","03G","R","20220701",""\n', "named as its own successor"),
        ("notes.csv", b"hello,world\n", "not an ODS file"),
        ("eccg.zip", b"PK\x03\x04\x00\x00binary", "eccg.zip: a damaged zip"),
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
    with pytest.raises(OdsError, match="a Bundle whose entry is not a list"):
        read_ods_bytes("b.json", b'{"resourceType": "Bundle", "entry": 7}')
    odd = {
        "resourceType": "Organization",
        "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "RR8"}],
        "name": "X NHS TRUST",
        "extension": [{"url": "x/Extension-England-TypedPeriod", "extension": "not a list"}],
    }
    assert read_ods_bytes("o.json", json.dumps(odd).encode()).organisations[0].code == "RR8"


def _error(path: Path) -> str:
    with pytest.raises(OdsError) as raised:
        read_ods_file(path)
    return str(raised.value)


def test_a_short_row_in_either_layout_is_named_with_its_line(tmp_path: Path) -> None:
    succ = report(tmp_path / "succ.csv", [succ_row("03G", "15F", "20220701"), '"02V"'])
    assert _error(succ) == (
        "succ.csv: line 2: 1 column; a successions row has old code, new code, reason, "
        "effective date and an indicator"
    )
    two = report(tmp_path / "succ.csv", ['"02V","15F"', succ_row("03G", "15F", "20220701")])
    assert _error(two).startswith("succ.csv: line 1: 2 columns; a successions row has")
    etr = report(tmp_path / "etr.csv", [report_row("RR8", "LEEDS NHS TRUST"), '"RXF","MID Y"'])
    assert _error(etr) == "etr.csv: line 2: 2 columns; an ODS report row has at least 12"
    many = report(tmp_path / "succ.csv", [succ_row("03G", "15F", "20220701"), *['"02V"'] * 12])
    assert _error(many).endswith("succ.csv: stopped at line 11, after 10 problems")


def test_a_utf8_file_with_stray_windows_1252_bytes_keeps_both_names(tmp_path: Path) -> None:
    utf8 = report_row("RR9", "HÔPITAL UNIVERSITAIRE NHS TRUST").encode()
    cp1252 = report_row("RYZ", "ST JOHN’S HOSPITAL NHS TRUST").encode("cp1252")
    names = ["HÔPITAL UNIVERSITAIRE NHS TRUST", "ST JOHN’S HOSPITAL NHS TRUST"]
    mixed = read_ods_bytes("etr.csv", utf8 + b"\r\n" + cp1252)
    assert [o.name for o in mixed.organisations] == names
    with_bom = read_ods_bytes("etr.csv", b"\xef\xbb\xbf" + cp1252)  # a BOM, then Windows-1252
    assert [o.name for o in with_bom.organisations] == names[1:]


def test_trailing_empty_columns_do_not_change_the_layout(tmp_path: Path) -> None:
    eccg, succ = sub_icb_files(tmp_path)
    for path in (eccg, succ):
        plain = read_ods_file(path)
        widened = report(
            tmp_path / f"wide_{path.name}", [f"{r},,," for r in path.read_text().splitlines()]
        )
        assert read_ods_file(widened).format == plain.format
        assert read_ods_file(widened).organisations == plain.organisations
        assert read_ods_file(widened).successions == plain.successions


def test_a_bad_date_in_the_first_row_is_named_not_taken_for_another_file(tmp_path: Path) -> None:
    eccg = report(tmp_path / "eccg.csv", [report_row("03G", "NHS LEEDS CCG", closed="30.06.22")])
    assert _error(eccg).endswith("close date '30.06.22' is not a date as YYYYMMDD (or DD/MM/YYYY)")
    succ = report(tmp_path / "succ.csv", [succ_row("03G", "15F", "07/13/2022")])  # US order
    assert _error(succ).endswith("date '07/13/2022' is not a real date (day first)")
    notes = report(tmp_path / "notes.csv", ['"Month","Total","Notes","20220701"'])
    assert "notes.csv: line 1: not an ODS file" in _error(notes)


def test_one_page_of_a_paged_fhir_search_is_refused_until_every_page_is_in(tmp_path: Path) -> None:
    qwo = fhir_organisation("QWO", "NHS WEST YORKSHIRE INTEGRATED CARE BOARD", start="2022-07-01")
    qhm = fhir_organisation("QHM", "NHS NORTH EAST AND NORTH CUMBRIA ICB", start="2022-07-01")
    first = bundle(tmp_path / "page1.json", [qwo], total=2, page=1)
    assert _error(first).startswith(
        "page1.json: holds 1 of the 2 organisations its search found: it is one page of a paged "
        "search. Download every page"
    )
    untold = search_page([qwo], page=1)
    del untold["total"]
    path = tmp_path / "untold.json"
    path.write_text(json.dumps(untold))
    assert _error(path).startswith("untold.json: links to a next page: it is one page")
    pages = [search_page([qwo], total=2, page=1), search_page([qhm], total=2)]
    path.write_text(json.dumps(pages))
    assert [o.code for o in read_ods_file(path).organisations] == ["QWO", "QHM"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": {"text": "WEIRD"}}, "QWO: its name is not text (dict \"{'text': 'WEIRD'}\")"),
        (
            {"partOf": {"identifier": {"value": "NOT A CODE"}}},
            "QWO: partOf 'NOT A CODE' is not an ODS code",
        ),
        ({"partOf": {"reference": "Organization/Y6 3"}}, "QWO: partOf 'Y6 3' is not an ODS code"),
        (
            {"identifier": [{"system": ODS_SYSTEM, "value": "Q\u0661\u0662"}]},
            "identifier 'Q\u0661\u0662' is not an ODS code",
        ),
        (  # a period given as text where FHIR gives an object: named, not a Python error
            {
                "extension": [
                    {
                        "url": "x/Extension-England-TypedPeriod",
                        "extension": [
                            {"url": "dateType", "valueCoding": {"code": "Operational"}},
                            {"url": "period", "valuePeriod": "2022-07-01"},
                        ],
                    }
                ]
            },
            "not shaped as FHIR R4 gives it: a text, a number or a list where an object belongs",
        ),
    ],
)
def test_a_loose_fhir_value_is_named(change: dict[str, object], message: str) -> None:
    resource = fhir_organisation("QWO", "NHS WEST YORKSHIRE ICB", start="2022-07-01") | change
    with pytest.raises(OdsError) as raised:
        read_ods_bytes("icbs.json", json.dumps(resource).encode())
    assert str(raised.value).startswith(f"icbs.json: Organization 1: {message}")


def test_a_fhir_successor_must_be_an_ods_code(tmp_path: Path) -> None:
    old = fhir_organisation(
        "QJG",
        "NHS SUFFOLK ICB",
        start="2022-07-01",
        end="2026-03-31",
        successor=("Q E", "2026-04-01"),
    )
    path = bundle(tmp_path / "icbs.json", [old])
    assert "Organization 1: QJG: successor 'Q E' is not an ODS code" in _error(path)


def test_lines_are_counted_as_a_text_editor_does_and_names_keep_u0085(tmp_path: Path) -> None:
    across = report_row("RR8", "LEEDS NHS TRUST").replace("WHITE ROSE HOUSE", "ST JAMES'S\r\nHOUSE")
    rows = [across, "", report_row("RAE", "BRADFORD NHS TRUST", opened="2013/04/01")]
    assert _error(report(tmp_path / "etr.csv", rows)).startswith("etr.csv: line 4: open date")
    nel = report(tmp_path / "etr.csv", [report_row("RR7", "GATESHEAD HEALTH\x85NHS TRUST")])
    assert [o.name for o in read_ods_file(nel).organisations] == ["GATESHEAD HEALTH NHS TRUST"]


def _zip(members: dict[str, bytes], compression: int = 0) -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for member, content in members.items():
            archive.writestr(member, content)
    return out.getvalue()


def test_a_zip_as_ods_publishes_is_read_member_by_member() -> None:
    eccg = report_row("03G", "NHS LEEDS SOUTH AND EAST CCG", closed="20220630").encode()
    one = read_ods_bytes("eccg.zip", _zip({"eccg.csv": eccg}))
    assert [o.code for o in one.organisations] == ["03G"]
    assert one.name == "eccg.zip/eccg.csv" and one.format == "ODS report (CSV)"
    both = read_ods_bytes(
        "ods.zip",
        _zip(
            {
                "eccg.csv": eccg,
                "succ.csv": succ_row("03G", "15F", "20220701").encode(),
                "__MACOSX/._eccg.csv": b"\x00\x05junk",
                "readme.txt": b"notes",
            }
        ),
    )
    assert both.name == "ods.zip" and both.format == "ODS report (CSV) + successions (CSV)"
    assert [(s.old_code, s.new_code) for s in both.successions] == [("03G", "15F")]
    with pytest.raises(OdsError, match=r"^ods\.zip/succ\.csv: line 1: "):
        read_ods_bytes("ods.zip", _zip({"succ.csv": b'"03G","03G","R","20220701",""'}))


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"notes.txt": b"hello"}, "x.zip: a zip with no .csv, .json or .xlsx file in it"),
        ({"inner.csv": _zip({"eccg.csv": b"x"})}, "x.zip/inner.csv: a binary file"),
        # as downloaded: eccg.zip kept in a zip of the week's files, beside a report
        (
            {
                "week/eccg.zip": _zip({"eccg.csv": b"x"}),
                "succ.csv": b'"03G","15F","R","20220701",""',
            },
            "x.zip: a zip inside a zip (week/eccg.zip): unzip it and import what it holds",
        ),
        ({"eccg.csv": b" " * (65 * 1024 * 1024)}, "x.zip: unpacks to more than"),
    ],
)
def test_a_zip_that_is_not_a_set_of_ods_files_is_refused_by_name(
    members: dict[str, bytes], message: str
) -> None:
    import zipfile

    with pytest.raises(OdsError) as raised:
        read_ods_bytes("x.zip", _zip(members, zipfile.ZIP_DEFLATED))
    assert str(raised.value).startswith(message)


def test_a_record_that_dates_only_its_roles_is_dated_by_them() -> None:
    # The organisation's own TypedPeriod is optional: a record may date its roles alone.
    def role(code: str, **period: str) -> dict[str, object]:
        ext = _role_ext(code)
        ext["extension"] = [*ext["extension"], typed_period("Operational", period)]  # type: ignore[misc]
        return ext

    closed = _record(
        "QMJ",
        "NHS NORTH CENTRAL LONDON INTEGRATED CARE BOARD",
        role("RO261", start="2016-03-31", end="2026-03-31"),
        role("RO318", start="2022-07-01", end="2026-03-31"),
    )
    closed["active"] = False
    still_open = _record(
        "QRV",
        "NHS NORTH WEST LONDON INTEGRATED CARE BOARD",
        role("RO261", start="2016-03-31", end="2022-06-30"),
        role("RO318", start="2022-07-01"),
    )
    # a role held with no dates of its own has not ended: the organisation is open
    undated = _record(
        "15F",
        "NHS WEST YORKSHIRE ICB - 15F",
        role("RO98", start="2013-04-01", end="2022-06-30"),
        _role_ext("RO319"),
    )
    read = read_fhir(
        "roles.json", json.dumps([closed, still_open, undated]), today=date(2026, 6, 1)
    )
    orgs = {o.code: o for o in read.organisations}
    assert (orgs["QMJ"].opened_on, orgs["QMJ"].closed_on) == (date(2016, 3, 31), date(2026, 3, 31))
    assert (orgs["QRV"].opened_on, orgs["QRV"].closed_on) == (date(2016, 3, 31), None)
    assert (orgs["15F"].opened_on, orgs["15F"].closed_on) == (date(2013, 4, 1), None)
    assert read.left_out == ()


def test_a_report_api_response_saved_as_it_came_reads_as_its_reports(tmp_path: Path) -> None:
    # Data Search and Export's report API answers {"<report>": "<that report as CSV>", ...}
    eccg = report_row("03G", "NHS LEEDS NORTH CCG", closed="20220630")
    eccg += "\r\n" + report_row("15F", "NHS WEST YORKSHIRE ICB - 15F", opened="20220701")
    response = {"eccg": eccg + "\r\n", "succ": succ_row("03G", "15F", "20220701") + "\r\n"}
    saved = tmp_path / "getReport.json"
    saved.write_text(json.dumps(response), encoding="utf-8")
    read = read_ods_file(saved)
    assert read.format == "ODS report (CSV) + successions (CSV)"
    assert {o.code: o.closed_on for o in read.organisations} == {
        "03G": date(2022, 6, 30),
        "15F": None,
    }
    assert [(s.old_code, s.new_code) for s in read.successions] == [("03G", "15F")]
    # a report with no rows is named, the others read
    saved.write_text(json.dumps({**response, "etr": ""}), encoding="utf-8")
    assert read_ods_file(saved).left_out == ("getReport.json (etr): the report holds no rows",)
    # one meant as a response but not one is named as such, never half read
    for wrong, said in [
        ({"ECCG": eccg}, 'naming a report "ECCG"'),
        ({"succ.csv": eccg}, 'naming a report "succ.csv"'),
        ({"eccg": eccg, "count": 2}, r"\(count\): the report is not CSV text"),
    ]:
        saved.write_text(json.dumps(wrong), encoding="utf-8")
        with pytest.raises(OdsError, match=said):
            read_ods_file(saved)
    twice = json.dumps(eccg)
    saved.write_text(f'{{"eccg": {twice}, "eccg": {twice}}}', encoding="utf-8")
    with pytest.raises(OdsError, match="the report eccg is in it twice"):
        read_ods_file(saved)
    saved.write_text(json.dumps({"eccg": "", "succ": " "}), encoding="utf-8")
    with pytest.raises(OdsError, match="a report API response whose reports hold no rows"):
        read_ods_file(saved)
    # any other JSON object is read as FHIR, as before
    for fhir in ({"eccg": 3}, {"id": "02V", "name": "NHS LEEDS NORTH CCG, LEEDS"}):
        saved.write_text(json.dumps(fhir), encoding="utf-8")
        with pytest.raises(OdsError, match="resourceType"):
            read_ods_file(saved)


def test_records_left_out_of_a_zipped_fhir_file_are_still_named(tmp_path: Path) -> None:
    import zipfile

    archived = _record("5QC", "AN ARCHIVED RECORD")
    archived["active"] = False
    kept = _record("15F", "NHS WEST YORKSHIRE ICB - 15F")
    zipped = tmp_path / "fhir.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("a.json", json.dumps([kept, archived]))
        z.writestr("b.json", json.dumps([_record("QWO", "NHS WEST YORKSHIRE ICB")]))
    read = read_ods_file(zipped)
    assert {o.code for o in read.organisations} == {"15F", "QWO"}
    assert len(read.left_out) == 1 and "5QC" in read.left_out[0]
