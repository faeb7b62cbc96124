"""The register use case on the in-memory fakes: approved requests applied, the publication rule,
the exported rows and the import. No server; the integration tests prove the same on databases."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from intake_bot.domain.records import Approval, Event, Relationship, RelationshipVersion, Request
from intake_bot.domain.register import NO_PROCESSOR_CONSENT, NOT_SIGNED, RegisterError
from intake_bot.services.register import Register, apply_approved_request
from tests.fakes import FakeStore

NOW = datetime(2016, 4, 1, 9, tzinfo=UTC)
OFFICES = ("North", "Midlands and East", "London", "South")


def values(**changes: object) -> dict[str, Any]:
    """A new request's values as filing stores them (dates ISO, yes/no as booleans)."""
    return {
        "request_type": "new",
        "effective_date": "2016-04-01",
        "commissioner_name": "NHS Darlington CCG",
        "commissioner_ods": "00C",
        "commissioner_type": "CCG",
        "processor_name": "North of England CSU",
        "processor_ods": "0AR",
        "processor_type": "CSU",
        "dscro": "North",
        "purposes": ["Commissioning", "Invoice validation"],
        "s251_references": ["CAG 7-07(a)/2013"],
        "contract_reference": "SLA-1",
        "contract_signed": True,
        "contract_start": "2016-04-01",
        "contract_end": "2030-03-31",
        "commissioner_consent": True,
        "processor_consent": True,
        "authoriser_name": "Dr Tom O'Neill",
        "authoriser_email": "tom.oneill@nhs.net",
        "requester_name": "Priya Shah",
        "requester_role": "IG Manager",
        "requester_email": "priya.shah@nhs.net",
        **changes,
    }


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def register(store: FakeStore, clock: Clock) -> Register:
    return Register(store=store, clock=clock, dscros=OFFICES)


def approve(store: FakeStore, request_type: str = "new", **changes: object) -> Relationship:
    """File a request with these values and apply it, as approving it does."""
    with store.unit() as unit:
        request = unit.add(
            Request(
                inbound_id=1,
                source="form.docx",
                status="approved",
                queue="North/new",
                created_at=NOW,
                updated_at=NOW,
                request_type=request_type,
                values=values(request_type=request_type, **changes),
                requester_email=str(changes.get("requester_email", "priya.shah@nhs.net")),
            )
        )
        return apply_approved_request(unit, request, now=NOW, actor="jo")


def versions(store: FakeStore, reference: str) -> list[RelationshipVersion]:
    with store.unit() as unit:
        rel = unit.register.by_reference(reference)
        assert rel is not None and rel.id is not None
        return unit.register.versions(rel.id)


def notes(store: FakeStore) -> list[str]:
    return [e.note for e in store.memory.all(Event) if e.action == "register"]


# --- approved requests ----------------------------------------------------------------------


def test_a_new_request_creates_a_relationship_that_keeps_who_asked(store: FakeStore) -> None:
    rel = approve(store)
    assert rel.reference == "LCR-000001"
    assert (rel.dscro, rel.commissioner_ods, rel.processor_ods) == ("North", "00C", "0AR")
    (version,) = versions(store, rel.reference)
    assert version.source == "LR-000001" and version.effective_from == date(2016, 4, 1)
    assert version.values["requester_email"] == "priya.shah@nhs.net"
    assert version.values["authoriser_email"] == "tom.oneill@nhs.net"
    assert "requester_role" not in version.values and "request_type" not in version.values
    assert store.memory.all(Request)[0].relationship_id == rel.id
    assert notes(store) == ["LCR-000001 created"]


def test_the_requesters_address_is_kept_when_only_the_request_record_has_it(
    store: FakeStore,
) -> None:
    with store.unit() as unit:
        request = unit.add(
            Request(
                inbound_id=1,
                source="body",
                status="approved",
                queue="North/new",
                created_at=NOW,
                updated_at=NOW,
                request_type="new",
                values=values(requester_email=""),
                requester_email="Priya.Shah@nhs.net",
            )
        )
        rel = apply_approved_request(unit, request, now=NOW, actor="jo")
    assert versions(store, rel.reference)[0].values["requester_email"] == "Priya.Shah@nhs.net"


def test_a_change_adds_a_version_and_an_end_ends_the_relationship(store: FakeStore) -> None:
    rel = approve(store, processor_consent=False)
    approve(
        store,
        "change",
        existing_reference="lcr 1",
        processor_consent=True,
        effective_date="2016-05-01",
        requester_email="tom.bradley@nhs.net",
    )
    first, second = versions(store, rel.reference)
    assert first.values["processor_consent"] is False  # the history stays
    assert second.values["processor_consent"] is True
    assert second.values["requester_email"] == "tom.bradley@nhs.net"
    assert second.effective_from == date(2016, 5, 1)
    approve(store, "end", existing_reference=rel.reference, effective_date="2016-03-01")
    assert (rel.status, rel.ended_on, rel.current_version) == ("ended", date(2016, 3, 1), 2)
    assert notes(store)[1].startswith("LCR-000001 version 2: processor_consent No → Yes")
    assert notes(store)[2] == "LCR-000001 ended on 01/03/2016"


def test_applying_the_same_request_twice_changes_nothing(store: FakeStore) -> None:
    with store.unit() as unit:
        request = unit.add(
            Request(
                inbound_id=1,
                source="f",
                status="approved",
                queue="q",
                created_at=NOW,
                updated_at=NOW,
                request_type="new",
                values=values(),
            )
        )
        first = apply_approved_request(unit, request, now=NOW, actor="jo")
        again = apply_approved_request(unit, request, now=NOW, actor="jo")
    assert again is first
    assert len(store.memory.all(Relationship)) == len(store.memory.all(RelationshipVersion)) == 1


def test_a_change_to_an_unknown_or_ended_relationship_is_refused_and_rolled_back(
    store: FakeStore,
) -> None:
    with pytest.raises(RegisterError, match="LCR-000404"):
        approve(store, "change", existing_reference="LCR-000404")
    assert store.memory.all(Request) == []  # the caller's unit was rolled back
    rel = approve(store)
    approve(store, "end", existing_reference=rel.reference, effective_date="2016-03-01")
    with pytest.raises(RegisterError, match="ended on 01/03/2016"):
        approve(store, "change", existing_reference=rel.reference)
    with pytest.raises(RegisterError, match="not a new, change or end request"):
        approve(store, "enquiry")


# --- the publication rule and the legal basis ------------------------------------------------


def test_only_active_signed_consented_relationships_in_contract_are_published(
    store: FakeStore, register: Register, clock: Clock
) -> None:
    approve(store)  # 1: published
    approve(store, contract_signed=False, commissioner_ods="00D")  # 2
    approve(store, processor_consent=False, commissioner_ods="00E")  # 3
    approve(store, contract_end="2016-06-30", commissioner_ods="00F")  # 4: runs out
    ended = approve(store, commissioner_ods="00G")  # 5
    approve(store, "end", existing_reference=ended.reference, effective_date="2016-03-01")

    every = {row.reference: row.not_published for row in register.rows(published_only=False)}
    assert every == {
        "LCR-000001": (),
        "LCR-000002": (NOT_SIGNED,),
        "LCR-000003": (NO_PROCESSOR_CONSENT,),
        "LCR-000004": (),
        "LCR-000005": ("ended on 01/03/2016",),
    }
    assert [r.reference for r in register.rows()] == ["LCR-000001", "LCR-000004"]
    clock.now = datetime(2016, 7, 1, 9, tzinfo=UTC)
    assert [r.reference for r in register.rows()] == ["LCR-000001"]


def test_rows_flag_an_expired_legal_basis_from_the_expiry_day(
    store: FakeStore, register: Register, clock: Clock
) -> None:
    with store.unit() as unit:
        unit.add(Approval("CAG 7-07(a)/2013", "IV", date(2017, 3, 31), ["Invoice validation"]))
    approve(store, s251_references=["cag 7-07 (a) / 2013"])
    clock.now = datetime(2017, 3, 30, 9, tzinfo=UTC)
    (row,) = register.rows()
    assert (row.expired_approvals, row.legal_basis) == ((), "")
    clock.now = datetime(2017, 3, 31, 9, tzinfo=UTC)
    (row,) = register.rows()
    assert row.expired_approvals == ("CAG 7-07(a)/2013",)
    assert row.legal_basis == "expired: CAG 7-07(a)/2013"
    assert row.as_dict()["legal_basis_expired"] == ["CAG 7-07(a)/2013"]


# --- the published spreadsheet ---------------------------------------------------------------


def test_the_extension_decides_the_format_of_the_export(
    store: FakeStore, register: Register, tmp_path: Path
) -> None:
    approve(store)
    approve(store, contract_signed=False, commissioner_ods="00D")
    written = register.export(tmp_path / "r.csv")
    assert (written.format, written.relationships) == ("csv", 1)
    with (tmp_path / "r.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[1][0] == "LCR-000001" and rows[1][-4:] == [
        "01/04/2016",
        "31/03/2030",
        "01/04/2016",
        "",
    ]
    assert register.export(tmp_path / "R.XLSX").format == "xlsx"
    sheet = load_workbook(tmp_path / "R.XLSX").active
    assert [r[0] for r in sheet.iter_rows(values_only=True)] == [
        "Relationship reference",
        "LCR-000001",
    ]


@pytest.mark.parametrize(
    ("name", "fmt", "message"),
    [
        ("r.csv", "xlsx", "names a .csv file, but xlsx was asked for"),
        ("r.xls", None, "written as .xlsx or .csv"),
        ("register", None, "written as .xlsx or .csv"),
    ],
)
def test_an_export_whose_name_and_format_disagree_is_refused_before_writing(
    register: Register, tmp_path: Path, name: str, fmt: str | None, message: str
) -> None:
    with pytest.raises(RegisterError, match=message):
        register.export(tmp_path / name, fmt)
    assert list(tmp_path.iterdir()) == []


# --- the import ------------------------------------------------------------------------------

HEADER = "Reference,Commissioner,Commissioner ODS code,Data processor,Processor ODS,DSCRO,Contract reference,Signed contract in place,Contract start,Contract end,Notes"  # noqa: E501


def sheet(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "kept-by-hand.csv"
    path.write_text("\n".join(["Register as at 31/03/2016", HEADER, *rows]) + "\n")
    return path


def test_an_import_loads_good_rows_and_reports_each_bad_row_with_why(
    store: FakeStore, register: Register, tmp_path: Path
) -> None:
    path = sheet(
        tmp_path,
        "LCR-000050,NHS Darlington CCG,00C,NECS,0AR,North,SLA-1,Yes,01/04/2015,31/03/2018,x",
        ",NHS Leeds North CCG,02V,NECS,0AR,dscro north,SLA-2,Y,01/04/2015,31/03/2018,",
        ",NHS Dorset CCG,11J,NECS,0AR,Wessex,SLA-3,Y,01/04/2015,31/03/2014,",
        "LCR-12x,,,NECS,0AR,North,SLA-4,Y,,,",
    )
    report = register.import_file(path, dry_run=False, actor="jo")
    assert [(line.row, line.reference) for line in report.loaded] == [
        (3, "LCR-000050"),
        (4, "LCR-000051"),
    ]
    refused = {r.row: r.reasons for r in report.refused}
    assert sorted(refused) == [5, 6]
    assert refused[5][0].startswith('DSCRO (regional office): we found "Wessex"')
    assert "a date after the contract start date (01/04/2015)" in refused[5][1]
    assert refused[6][0].startswith('Relationship reference: we found "LCR-12x"')
    assert report.ignored_columns == ("Notes",)
    assert [r.reference for r in register.rows(published_only=False)] == [
        "LCR-000050",
        "LCR-000051",
    ]
    assert versions(store, "LCR-000050")[0].source == "import kept-by-hand.csv row 3"
    assert notes(store)[-1] == (
        "register import kept-by-hand.csv: 2 loaded, 0 merged, 0 unchanged, 2 refused"
    )


def test_an_import_takes_an_office_by_its_configured_alias_and_stores_its_name(
    store: FakeStore, clock: Clock, tmp_path: Path
) -> None:
    aliases = {"Midlands and East": ("Midlands & East", "M&E")}
    register = Register(store=store, clock=clock, dscros=OFFICES, office_aliases=aliases)
    path = sheet(
        tmp_path,
        "LCR-000050,NHS Dudley CCG,05C,MLCSU,0DF,M&E,SLA-1,Yes,01/04/2015,31/03/2018,",
        ",NHS Walsall CCG,05Y,MLCSU,0DF,dscro m&e,SLA-2,Y,01/04/2015,31/03/2018,",
        ",NHS Dorset CCG,11J,NECS,0AR,Wessex,SLA-3,Y,01/04/2015,31/03/2018,",
    )
    report = register.import_file(path, dry_run=False, actor="jo")
    assert [line.row for line in report.loaded] == [3, 4]
    rows = register.rows(published_only=False)
    assert [(r.reference, r.dscro) for r in rows] == [
        ("LCR-000050", "Midlands and East"),
        ("LCR-000051", "Midlands and East"),
    ]
    (refused,) = report.refused
    assert refused.row == 5 and refused.reasons[0] == (
        'DSCRO (regional office): we found "Wessex", expected one of the regional offices: North, '
        "Midlands and East (or Midlands & East, M&E), London, South."
    )


def test_an_import_merges_a_changed_row_and_leaves_the_same_row_unchanged(
    store: FakeStore, register: Register, tmp_path: Path
) -> None:
    approve(store, processor_consent=False)
    path = tmp_path / "r.csv"
    path.write_text(
        "Reference,Commissioner ODS code,Contract reference,Processor consent\n"
        "LCR-000001,00C,SLA-1,Yes\n"
    )
    report = register.import_file(path, dry_run=False, actor="jo")
    assert [line.reference for line in report.merged] == ["LCR-000001"]
    assert "processor_consent No → Yes" in report.merged[0].note
    again = register.import_file(path, dry_run=False, actor="jo")
    assert [line.note for line in again.unchanged] == ["version 2"]


def test_a_dry_run_reports_the_same_and_changes_nothing(
    store: FakeStore, register: Register, tmp_path: Path
) -> None:
    path = sheet(
        tmp_path,
        "LCR-000050,NHS Darlington CCG,00C,NECS,0AR,North,SLA-1,Yes,01/04/2015,31/03/2018,",
        ",,,NECS,0AR,North,SLA-4,Y,,,",
    )
    dry = register.import_file(path, dry_run=True, actor="jo")
    assert store.memory.all(Relationship) == [] and store.memory.all(Event) == []
    real = register.import_file(path, dry_run=False, actor="jo")
    assert {**dry.as_dict(), "dry_run": False} == real.as_dict()
    assert (len(real.loaded), len(real.refused)) == (1, 1)
