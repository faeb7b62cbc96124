"""A report or successions file whose header row puts its columns in another order than ODS's
standard layout (an export of chosen columns) is read by its header."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pytest

from intake_bot.domain.organisations import OdsError, OrgKind
from intake_bot.ods import read_ods_file
from intake_bot.ods.headers import in_standard_order
from tests.ods_files import report, report_row

CHOSEN = "Organisation Code,Name,Postcode,Open Date,Close Date,Parent Organisation Code"


def test_a_report_of_chosen_columns_is_read_by_its_header(tmp_path: Path) -> None:
    path = report(
        tmp_path / "eccg.csv",
        [
            CHOSEN,
            "03G,NHS LEEDS SOUTH AND EAST CCG,LS11 5BZ,20130401,20220630,Q72",
            '15F,"NHS WEST YORKSHIRE ICB - 15F",LS1 4HR,20220701,,QWO',
        ],
    )
    read = read_ods_file(path)
    by_code = {o.code: o for o in read.organisations}
    assert by_code["03G"].closed_on == date(2022, 6, 30) and by_code["03G"].postcode == "LS11 5BZ"
    assert by_code["15F"].opened_on == date(2022, 7, 1) and by_code["15F"].closed_on is None
    assert by_code["15F"].parent == "QWO" and by_code["15F"].kind is OrgKind.SUB_ICB


def test_columns_in_any_order_and_case_with_their_header(tmp_path: Path) -> None:
    path = report(
        tmp_path / "trusts.csv",
        [
            "NAME,CLOSE DATE,OPEN DATE,ORGANISATION CODE",
            "LEEDS TEACHING HOSPITALS NHS TRUST,,19980401,RR8",
        ],
    )
    (trust,) = read_ods_file(path).organisations
    assert (trust.code, trust.name, trust.opened_on) == (
        "RR8",
        "LEEDS TEACHING HOSPITALS NHS TRUST",
        date(1998, 4, 1),
    )


def test_a_successions_file_with_its_columns_reordered_is_read_by_its_header(
    tmp_path: Path,
) -> None:
    path = report(
        tmp_path / "succ.csv",
        [
            "Succeeding Organisation Code,Organisation Code,Effective Date,Reason",
            "QZE,QJG,20260401,M",
        ],
    )
    (succession,) = read_ods_file(path).successions
    assert (succession.old_code, succession.new_code) == ("QJG", "QZE")
    assert succession.effective_on == date(2026, 4, 1) and succession.reason == "merger"
    # the old code's column named as the new one's is ("Successor" / "Predecessor ...")
    named = "Successor Organisation Code,Predecessor Organisation Code,Effective Date,Reason"
    path = report(tmp_path / "succ2.csv", [named, "QZE,QJG,20260401,M"])
    (succession,) = read_ods_file(path).successions
    assert (succession.old_code, succession.new_code) == ("QJG", "QZE")


def test_a_workbook_of_chosen_columns_is_read_by_its_header(tmp_path: Path) -> None:
    from datetime import datetime

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(CHOSEN.split(","))
    sheet.append(["QJG", "NHS SUFFOLK AND NORTH EAST ESSEX ICB", "IP1 2BX"])
    sheet["D2"], sheet["E2"], sheet["F2"] = datetime(2022, 7, 1), datetime(2026, 3, 31), "Y63"
    book.save(tmp_path / "icbs.xlsx")
    (icb,) = read_ods_file(tmp_path / "icbs.xlsx").organisations
    assert icb.closed_on == date(2026, 3, 31) and icb.parent == "Y63"


def test_a_header_in_the_standard_order_leaves_every_column_where_it_is() -> None:
    header = ["Organisation Code", "Name", "National Grouping", "Mystery", *[""] * 10, "Parent"]
    row = ["RR8", "LEEDS", "Y63", "x", *[""] * 10, "QWO"]
    assert list(in_standard_order([(1, header), (2, row)])) == [(1, header), (2, row)]
    unknown = [(1, ["Month", "Total"]), (2, ["Jan", "3"])]
    assert list(in_standard_order(unknown)) == unknown


def test_a_report_whose_header_names_no_close_date_is_refused_not_read_as_all_open(
    tmp_path: Path,
) -> None:
    for header in ("Organisation Code,Name,Open Date", "Organisation Code,Name,Open Date,Closed?"):
        path = report(tmp_path / "x.csv", [header, "03G,NHS LEEDS SOUTH AND EAST CCG,20130401,"])
        with pytest.raises(OdsError, match=r"x\.csv: line 1: its header names no close date"):
            read_ods_file(path)


def test_headers_written_as_people_write_them(tmp_path: Path) -> None:
    path = report(
        tmp_path / "x.csv",
        [
            "Code,OrganisationCode,Name,Open Date (YYYYMMDD),Date Closed,"
            "Successor Organisation Code",
            "X,03G,NHS LEEDS SOUTH AND EAST CCG,20130401,20220630,15F",
        ],
    )
    read = read_ods_file(path)  # a report with its successor beside it is still a report
    (ccg,) = read.organisations
    assert (ccg.code, ccg.closed_on) == ("03G", date(2022, 6, 30))


def test_a_role_or_parent_start_and_end_date_is_never_the_open_or_close_date(
    tmp_path: Path,
) -> None:
    path = report(
        tmp_path / "x.csv",
        [
            "Organisation Code,Name,Start Date (Role),End Date (Role),Open Date,Close Date",
            "03G,NHS LEEDS SOUTH AND EAST CCG,20200101,20210101,20130401,20220630",
        ],
    )
    (ccg,) = read_ods_file(path).organisations
    assert (ccg.opened_on, ccg.closed_on) == (date(2013, 4, 1), date(2022, 6, 30))
    path = report(
        tmp_path / "y.csv",
        [
            "Organisation Code,Name,Open Date,Parent Organisation Code,Join Parent Date,End Date",
            "RR801,ST JAMES'S UNIVERSITY HOSPITAL,19980401,RR8,20010101,20200331",
        ],
    )
    with pytest.raises(OdsError, match="its header names no close date"):
        read_ods_file(path)


def test_a_successor_column_in_a_report_and_names_in_a_successions_file(tmp_path: Path) -> None:
    path = report(
        tmp_path / "x.csv",
        [
            "Organisation Code,Org Name,Operational Start Date,Operational End Date,"
            "Successor Organisation Code",
            "03G,NHS LEEDS SOUTH AND EAST CCG,20130401,20220630,15F",
        ],
    )
    (ccg,) = read_ods_file(path).organisations
    assert ccg.closed_on == date(2022, 6, 30)
    path = report(
        tmp_path / "succ.csv",
        [
            "Organisation Code,Organisation Name,Succeeding Organisation Code,"
            "Succeeding Organisation Name,Reason,Effective Date",
            "03G,NHS LEEDS SOUTH AND EAST CCG,15F,NHS WEST YORKSHIRE ICB - 15F,R,20220701",
        ],
    )
    (succession,) = read_ods_file(path).successions
    assert (succession.old_code, succession.new_code) == ("03G", "15F")
    assert succession.effective_on == date(2022, 7, 1)


def test_a_workbook_whose_header_names_no_close_date_is_refused_naming_it(
    tmp_path: Path,
) -> None:
    path = _icbs_book(
        tmp_path,
        ["Name", "Organisation Code", "Open Date"],
        ["NHS WEST YORKSHIRE ICB", "QWO", "20220701"],
    )
    with pytest.raises(OdsError, match=r"icbs\.xlsx \(icbs\): its header names no close date"):
        read_ods_file(path)


def _icbs_book(tmp_path: Path, header: list[str], row: list[str]) -> Path:
    """A workbook of one sheet, "icbs": a header and one row."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "icbs"
    sheet.append(header)
    sheet.append(row)
    book.save(tmp_path / "icbs.xlsx")
    return tmp_path / "icbs.xlsx"


def test_a_header_naming_a_column_twice_is_refused_naming_the_field_and_both_columns(
    tmp_path: Path,
) -> None:
    row = "03G,NHS LEEDS SOUTH AND EAST CCG,20130401,20220630,20240331"
    for header, field, columns in (
        (
            "Organisation Code,Name,Open Date,Close Date,Close Date",
            "close date",
            '"Close Date" (column 4) and "Close Date" (column 5)',
        ),
        (
            "Organisation Code,Name,Open Date,Close Date,Closed Date",
            "close date",
            '"Close Date" (column 4) and "Closed Date" (column 5)',
        ),
        (
            "Organisation Code,Name,Open Date,Close Date,Organisation Code",
            "organisation code",
            '"Organisation Code" (column 1) and "Organisation Code" (column 5)',
        ),
    ):
        path = report(tmp_path / "x.csv", [header, row])
        with pytest.raises(OdsError) as refused:
            read_ods_file(path)
        assert str(refused.value) == (
            f"x.csv: line 1: its header names the {field} in more than one column: "
            f"{columns}; remove all but one"
        )


def test_a_published_report_whose_header_names_its_close_date_twice_is_refused(
    tmp_path: Path,
) -> None:
    # every column where ODS puts it, so that the rows alone would be read as published
    header = ["Organisation Code", "Name", *["Null"] * 8, "Open Date", "Close Date", "Close Date"]
    header += ["Null"] * (27 - len(header))
    row = report_row("03G", "NHS LEEDS SOUTH AND EAST CCG", closed="20220630")
    path = report(tmp_path / "eccg.csv", [",".join(header), row])
    with pytest.raises(
        OdsError, match=r'"Close Date" \(column 12\) and "Close Date" \(column 13\)'
    ):
        read_ods_file(path)


def test_columns_named_alike_that_name_no_column_read_are_fine(tmp_path: Path) -> None:
    # ODS's own header repeats "Null"; a loose "Code" gives way to the organisation code
    header = ["Organisation Code", "Name", *["Null"] * 8, "Open Date", "Close Date", "Null"]
    header += ["Null", "Code", "Code"] + ["Null"] * (27 - len(header) - 3)
    row = report_row("03G", "NHS LEEDS SOUTH AND EAST CCG", closed="20220630")
    (ccg,) = read_ods_file(report(tmp_path / "eccg.csv", [",".join(header), row])).organisations
    assert (ccg.code, ccg.closed_on) == ("03G", date(2022, 6, 30))


def test_a_workbook_whose_header_names_a_column_twice_is_refused_naming_its_sheet(
    tmp_path: Path,
) -> None:
    path = _icbs_book(
        tmp_path,
        ["Organisation Code", "Name", "Open Date", "Date Closed", "Close Date"],
        ["QJG", "NHS SUFFOLK AND NORTH EAST ESSEX ICB", "20220701", "20260331", ""],
    )
    with pytest.raises(OdsError) as refused:
        read_ods_file(path)
    assert str(refused.value) == (
        "icbs.xlsx (icbs): its header names the close date in more than one column: "
        '"Date Closed" (column 4) and "Close Date" (column 5); remove all but one'
    )
