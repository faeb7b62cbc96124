"""ODS's files as an operator may hand them over: a report opened in Excel and saved again in
a UK locale (dates day first), a FHIR resource whose parent is a versioned reference."""

from __future__ import annotations

import re
from pathlib import Path

from intake_bot.ods import read_ods_file
from tests.ods_files import bundle, fhir_organisation, report, sub_icb_files


def test_a_report_saved_again_by_excel_in_a_uk_locale_reads_its_dates_day_first(
    tmp_path: Path,
) -> None:
    eccg, succ = sub_icb_files(tmp_path)
    as_published = read_ods_file(eccg), read_ods_file(succ)

    def day_first(match: re.Match[str]) -> str:
        text = match.group(1)
        return f'"{int(text[6:])}/{text[4:6]}/{text[:4]}"'

    resaved = [
        report(
            tmp_path / f"uk_{path.name}",
            [re.sub(r'"(\d{8})"', day_first, line) for line in path.read_text().splitlines()],
        )
        for path in (eccg, succ)
    ]
    assert "1/07/2022" in resaved[1].read_text()
    assert read_ods_file(resaved[0]).organisations == as_published[0].organisations
    assert read_ods_file(resaved[1]).successions == as_published[1].successions


def test_a_versioned_part_of_reference_names_the_parent(tmp_path: Path) -> None:
    resource = fhir_organisation("15F", "NHS WEST YORKSHIRE ICB - 15F", start="2022-07-01")
    resource["partOf"] = {"reference": "https://example.org/fhir/Organization/QWO/_history/2"}
    (org,) = read_ods_file(bundle(tmp_path / "orgs.json", [resource])).organisations
    assert org.parent == "QWO"


def test_a_placeholder_date_of_year_one_is_named_not_a_crash(tmp_path: Path) -> None:
    import pytest

    from intake_bot.domain.organisations import OdsError

    for name, row in (
        ("succ.csv", '"03G","15F","R","00010101",""'),
        ("succ2.csv", '"03G","15F","R","01/01/0001",""'),
    ):
        with pytest.raises(OdsError, match="is before any organisation ODS lists"):
            read_ods_file(report(tmp_path / name, [row]))
    resource = fhir_organisation("15F", "NHS WEST YORKSHIRE ICB - 15F", start="0001-01-01")
    with pytest.raises(OdsError, match="before any organisation ODS lists"):
        read_ods_file(bundle(tmp_path / "orgs.json", [resource]))
