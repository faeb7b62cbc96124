"""ODS files as an operator downloads them, built by the tests in the published layouts.

The CSV reports of ODS Data Search and Export (eccg, ecsu, etr...) are headerless rows of the
standard 27 columns; succ.csv is headerless rows of old code, new code, reason, effective date,
indicator; the Organisation Data Terminology API returns FHIR R4 Organization resources (here a
searchset Bundle). Names and codes are real where they could be; the merged ICB of 2026 has a
made-up code (QZE), as does anything else marked so.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
EXT = "https://fhir.nhs.uk/England/StructureDefinition/"


def report_row(
    code: str,
    name: str,
    *,
    grouping: str = "Y63",
    geography: str = "QWO",
    postcode: str = "LS11 5BZ",
    opened: str = "20130401",
    closed: str = "",
    parent: str = "",
) -> str:
    """One row of a standard ODS report (27 columns, every field quoted as ODS does)."""
    cells = [code, name, grouping, geography, "WHITE ROSE HOUSE", "WEST PARADE", "", "LEEDS"]
    cells += ["WEST YORKSHIRE", postcode, opened, closed, "", "C", parent, "", "", "0113 000 0000"]
    cells += ["", "", "", "0", "", "", "", "", ""]
    assert len(cells) == 27
    return ",".join(f'"{c}"' if c else "" for c in cells)


def report(path: Path, rows: Sequence[str]) -> Path:
    path.write_text("\r\n".join(rows) + "\r\n", encoding="utf-8")
    return path


def as_workbook(csv_file: Path, *, header: Sequence[str] = (), dates: bool = True) -> Path:
    """The same rows as ODS Data Search and Export's "excel" download: an .xlsx beside the CSV
    file, with a header row if given, empty cells left out, and YYYYMMDD dates as real dates
    (`dates`) or as text."""
    import csv
    from datetime import datetime

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = csv_file.stem
    if header:
        sheet.append(list(header))
    for row in csv.reader(csv_file.read_text(encoding="utf-8").splitlines()):
        cells: list[object] = [c or None for c in row]
        for index in (3, 10, 11) if dates else ():
            text = cells[index] if index < len(cells) else None
            if isinstance(text, str) and len(text) == 8 and text.isdigit():
                cells[index] = datetime.strptime(text, "%Y%m%d")
        sheet.append(cells)
    path = csv_file.with_suffix(".xlsx")
    book.save(path)
    return path


def succ_row(old: str, new: str, date: str, reason: str = "R", indicator: str = "") -> str:
    return f'"{old}","{new}","{reason}","{date}","{indicator}"'


def fhir_organisation(
    code: str,
    name: str,
    *,
    start: str,
    end: str | None = None,
    role: str = "RO318",
    primary_role: str = "RO261",
    part_of: str | None = None,
    successor: tuple[str, str] | None = None,  # (code, effective date)
    predecessor: tuple[str, str] | None = None,  # as ODS also keeps it on the new record
) -> dict[str, object]:
    period: dict[str, str] = {"start": start, **({"end": end} if end else {})}
    extensions: list[dict[str, object]] = [
        typed_period("Legal", period),
        typed_period("Operational", period),
        _role(primary_role, primary=True),
        _role(role, primary=False),
    ]
    for kind, link in (("Successor", successor), ("Predecessor", predecessor)):
        if link is not None:
            extensions.append(
                {
                    "url": EXT + "Extension-England-OrganisationSuccession",
                    "extension": [
                        {"url": "type", "valueCoding": {"code": kind}},
                        {
                            "url": "target",
                            "valueIdentifier": {"system": ODS_SYSTEM, "value": link[0]},
                        },
                        {"url": "period", "valuePeriod": {"start": link[1]}},
                    ],
                }
            )
    resource: dict[str, object] = {
        "resourceType": "Organization",
        "id": code,
        "identifier": [{"use": "official", "system": ODS_SYSTEM, "value": code}],
        "active": end is None,
        "name": name,
        "address": [{"line": ["2 CITY WALK"], "city": "LEEDS", "postalCode": "LS11 9AR"}],
        "extension": extensions,
    }
    if part_of:
        resource["partOf"] = {"identifier": {"system": ODS_SYSTEM, "value": part_of}}
    return resource


def typed_period(kind: str, period: dict[str, str]) -> dict[str, object]:
    return {
        "url": EXT + "Extension-England-TypedPeriod",
        "extension": [
            {"url": "dateType", "valueCoding": {"code": kind, "display": kind}},
            {"url": "period", "valuePeriod": period},
        ],
    }


def _role(code: str, *, primary: bool) -> dict[str, object]:
    coding = {
        "system": "https://digital.nhs.uk/services/organisation-data-service/CodeSystem/ODSOrganisationRole",
        "code": code,
    }
    return {
        "url": EXT + "Extension-England-OrganisationRole",
        "extension": [
            {"url": "roleCode", "valueCodeableConcept": {"coding": [coding]}},
            {"url": "primaryRole", "valueBoolean": primary},
            {"url": "active", "valueBoolean": True},
        ],
    }


def bundle(
    path: Path, resources: Sequence[dict[str, object]], *, total: int | None = None, page: int = 0
) -> Path:
    """A searchset Bundle; `total`: as many as the search found, when the bundle holds one page
    of them; `page`: the page it is, linking to the next (as a paged search returns them)."""
    document = search_page(resources, total=total, page=page)
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


def search_page(
    resources: Sequence[dict[str, object]], *, total: int | None = None, page: int = 0
) -> dict[str, object]:
    search = "https://example.test/Organization?_count=1000"
    document: dict[str, object] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources) if total is None else total,
        "entry": [
            {"fullUrl": f"https://example.test/Organization/{r['id']}", "resource": r}
            for r in resources
        ],
    }
    if page:
        document["link"] = [
            {"relation": "self", "url": f"{search}&page={page}"},
            {"relation": "next", "url": f"{search}&page={page + 1}"},
        ]
    return document


# --- the scenario the tests share ------------------------------------------------------------


def sub_icb_files(folder: Path) -> list[Path]:
    """2022: NHS Leeds South and East CCG (03G) closed on 30/06/2022; its work went to the
    West Yorkshire ICB's sub-ICB location 15F from 01/07/2022."""
    eccg = report(
        folder / "eccg.csv",
        [
            report_row("03G", "NHS LEEDS SOUTH AND EAST CCG", closed="20220630"),
            report_row("15F", "NHS WEST YORKSHIRE ICB - 15F", opened="20220701"),
            report_row("00C", "NHS DARLINGTON CCG", geography="QHM", closed="20220630"),
            report_row(
                "16C",
                "NHS NORTH EAST AND NORTH CUMBRIA ICB - 16C",
                geography="QHM",
                opened="20220701",
            ),
        ],
    )
    succ = report(
        folder / "succ.csv",
        [succ_row("03G", "15F", "20220701"), succ_row("00C", "16C", "20220701")],
    )
    return [eccg, succ]


def split_files(folder: Path) -> list[Path]:
    """30/06/2022: a CCG split between two ICBs' sub-ICB locations, so the successions file lists
    its code twice (the CCG and its code 0ZX are made up; 36J and 42D are real)."""
    eccg = report(
        folder / "eccg.csv",
        [
            report_row("0ZX", "NHS CRAVEN AND HARROGATE CCG", closed="20220630"),
            report_row("36J", "NHS WEST YORKSHIRE ICB - 36J", opened="20220701"),
            report_row(
                "42D",
                "NHS HUMBER AND NORTH YORKSHIRE ICB - 42D",
                geography="QOQ",
                opened="20220701",
            ),
        ],
    )
    succ = report(
        folder / "succ.csv",
        [succ_row("0ZX", "36J", "20220701"), succ_row("0ZX", "42D", "20220701")],
    )
    return [eccg, succ]


def icb_merger_file(folder: Path) -> Path:
    """1 April 2026: two ICBs abolished into one new one (the new ICB's code QZE is made up)."""
    return bundle(
        folder / "icbs.json",
        [
            fhir_organisation(
                "QWO", "NHS WEST YORKSHIRE INTEGRATED CARE BOARD", start="2022-07-01", part_of="Y63"
            ),
            fhir_organisation(
                "QJG",
                "NHS SUFFOLK AND NORTH EAST ESSEX INTEGRATED CARE BOARD",
                start="2022-07-01",
                end="2026-03-31",
                part_of="Y61",
                successor=("QZE", "2026-04-01"),
            ),
            fhir_organisation(
                "QH8",
                "NHS MID AND SOUTH ESSEX INTEGRATED CARE BOARD",
                start="2022-07-01",
                end="2026-03-31",
                part_of="Y61",
                successor=("QZE", "2026-04-01"),
            ),
            fhir_organisation(
                "QZE", "NHS ESSEX INTEGRATED CARE BOARD", start="2026-04-01", part_of="Y61"
            ),
        ],
    )


def trust_file(folder: Path, *, renamed: bool = False, name: str = "etr.csv") -> Path:
    """NHS trusts; `renamed`: Mid Yorkshire Hospitals NHS Trust (RXF) under its new name."""
    rxf = "MID YORKSHIRE TEACHING NHS TRUST" if renamed else "MID YORKSHIRE HOSPITALS NHS TRUST"
    return report(
        folder / name,
        [
            report_row("RR8", "LEEDS TEACHING HOSPITALS NHS TRUST", opened="19980401"),
            report_row("RXF", rxf, postcode="WF1 4DG", opened="20020401"),
        ],
    )
