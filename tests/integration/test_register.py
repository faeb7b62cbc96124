"""The register on SQLite and PostgreSQL: approvals applied to it, the published export, the import.

Requests are filed the way they arrive (an emailed form through `Intake.ingest`), then approved
by calling the register service inside a unit, as the lifecycle service does.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import col, func, select
from typer.testing import CliRunner, Result

from intake_bot.bootstrap import App
from intake_bot.cli import app as cli_app
from intake_bot.domain.records import Event, Organisation, Relationship, RelationshipVersion
from intake_bot.domain.register import (
    EXPORT_COLUMNS,
    NO_PROCESSOR_CONSENT,
    NOT_SIGNED,
    RegisterError,
)
from intake_bot.domain.register_view import ImportReport
from intake_bot.domain.triage import parse_request_reference
from intake_bot.ports import MessageRef
from intake_bot.samples import DOCX, docx_form, email, new_request
from intake_bot.services.register import apply_approved_request
from intake_bot.services.register.history import relationship_history
from intake_bot.services.register.importing import import_register
from intake_bot.services.register.listing import export_register, register_rows
from intake_bot.store.tables import EventRow
from tests.conftest import REPO, FrozenClock, sql_store

pytestmark = pytest.mark.integration

APRIL = datetime(2016, 4, 1, 9, 0, tzinfo=UTC)
CHANGE = "Change to an existing relationship"
END = "End a relationship"
OFFICES = ("North", "Midlands and East", "London", "South")
_uids = itertools.count(1)


@pytest.fixture(autouse=True)
def _april(clock: FrozenClock) -> None:
    # The sample forms' contracts were signed in March 2016: not in the future from here.
    clock.now = APRIL


def _file(app: App, i: int = 0, **values: str) -> int:
    """File one emailed form (sample commissioner `i`); its request id."""
    raw = email(attachments=[("form.docx", DOCX, docx_form(new_request(i, **values)))])
    ref = MessageRef("INBOX", str(next(_uids)))
    result = app.intake.ingest(raw, ref, now=app.clock())
    request_id = parse_request_reference(result.references[0])
    assert request_id is not None
    with app.store.unit() as unit:
        request = unit.requests.get(request_id)
        assert request is not None
        assert not request.problems, request.problems
    return request_id


def _approve(app: App, request_id: int) -> Relationship:
    with app.store.unit() as unit:
        request = unit.requests.get(request_id)
        assert request is not None
        request.status = "approved"
        return apply_approved_request(unit, request, now=app.clock(), actor="jo.bloggs")


def _new(app: App, i: int = 0, **values: str) -> Relationship:
    return _approve(app, _file(app, i, **values))


def _change(app: App, reference: str, i: int = 0, **values: str) -> Relationship:
    fields = {"change_description": "As below.", "effective_date": "01/05/2016", **values}
    return _approve(app, _file(app, i, request_type=CHANGE, existing_reference=reference, **fields))


def _end(app: App, reference: str, on: str, i: int = 0) -> Relationship:
    return _approve(
        app,
        _file(
            app,
            i,
            request_type=END,
            existing_reference=reference,
            effective_date=on,
            change_description="The contract ends.",
        ),
    )


def _versions(app: App, reference: str) -> list[RelationshipVersion]:
    with app.store.unit() as unit:
        rel = unit.register.by_reference(reference)
        assert rel is not None and rel.id is not None
        return unit.register.versions(rel.id)


def _register_events(app: App) -> list[str]:
    with sql_store(app).unit() as unit:
        # `Event` is mapped onto EventRow's table: the same column, typed for mypy
        rows = unit.session.exec(select(Event).where(col(EventRow.action) == "register")).all()
        return [e.note for e in sorted(rows, key=lambda e: e.id or 0)]


def _counts(app: App) -> tuple[int, int, int]:
    with sql_store(app).unit() as unit:
        return (
            unit.session.exec(select(func.count()).select_from(Relationship)).one(),
            unit.session.exec(select(func.count()).select_from(RelationshipVersion)).one(),
            unit.session.exec(select(func.count()).select_from(Event)).one(),
        )


# --- approvals change the register -----------------------------------------------------------


def test_new_change_and_end_keep_the_history(app: App, clock: FrozenClock) -> None:
    request_id = _file(app, 1, processor_consent="No")
    rel = _approve(app, request_id)
    assert rel.reference == "LCR-000001"
    with app.store.unit() as unit:
        request = unit.requests.get(request_id)
        assert request is not None and request.relationship_id == rel.id

    _change(app, rel.reference, 1, processor_consent="Yes", contract_end="31/03/2031")
    versions = _versions(app, rel.reference)
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].values["processor_consent"] is False  # the history stays
    assert versions[1].values["processor_consent"] is True
    assert versions[1].values["contract_end"] == "2031-03-31"
    assert versions[1].effective_from == date(2016, 5, 1)
    # Who asked is kept with the version: reminded before an s251 approval it relies on expires.
    assert versions[1].values["requester_email"] == new_request(1)["requester_email"]

    _end(app, rel.reference, "30/06/2016", 1)
    (row,) = register_rows(app.store, date(2016, 6, 29), published_only=False)
    assert (row.status, row.ended_on, row.version, row.published) == (
        "active",
        date(2016, 6, 30),
        2,
        True,
    )
    (row,) = register_rows(app.store, date(2016, 6, 30), published_only=False)
    assert row.status == "ended" and row.not_published == ("ended on 30/06/2016",)
    assert _register_events(app) == [
        "LCR-000001 created",
        "LCR-000001 version 2: contract_end 31/03/2030 → 31/03/2031; processor_consent No → Yes",
        "LCR-000001 ends on 30/06/2016",
    ]


def test_an_end_on_a_past_date_ends_the_relationship_at_once(app: App) -> None:
    rel = _new(app)
    ended = _end(app, rel.reference, "01/03/2016")
    assert (ended.status, ended.ended_on) == ("ended", date(2016, 3, 1))


def test_references_follow_on_and_are_never_reused(app: App) -> None:
    refs = [_new(app, i).reference for i in range(3)]
    assert refs == ["LCR-000001", "LCR-000002", "LCR-000003"]


def test_applying_the_same_approval_twice_changes_nothing(app: App) -> None:
    request_id = _file(app)
    first = _approve(app, request_id)
    again = _approve(app, request_id)
    assert again.id == first.id
    assert _counts(app)[:2] == (1, 1)


def test_a_change_to_an_unknown_or_ended_relationship_is_refused(app: App) -> None:
    rel = _new(app)
    # Intake checks the reference when the form arrives; the register checks it again on approval.
    unknown = _file(
        app, request_type=CHANGE, existing_reference=rel.reference, change_description="x"
    )
    with app.store.unit() as unit:
        request = unit.requests.get(unknown)
        assert request is not None
        request.values = {**request.values, "existing_reference": "LCR-000404"}
    with pytest.raises(RegisterError, match="LCR-000404"):
        _approve(app, unknown)
    late = _file(
        app,
        request_type=CHANGE,
        existing_reference=rel.reference,
        change_description="x",
        processor_consent="No",
    )
    _end(app, rel.reference, "01/03/2016")
    before = _counts(app)
    with pytest.raises(RegisterError, match="ended on 01/03/2016"):
        _approve(app, late)
    assert _counts(app) == before  # the caller's transaction was rolled back


def test_contacts_are_requesters_authorisers_and_registered_contacts(app: App) -> None:
    with app.store.unit() as unit:
        unit.reference.upsert_organisation(
            Organisation(ods="0DE", name="NECS", type="CSU", contacts=["IG.Lead@NHS.net"])
        )
    rel = _new(app, 0, requester_email="Aisha.Khan@nhs.net")
    _change(
        app,
        rel.reference,
        0,
        requester_email="tom.bradley@nhs.net",
        authoriser_email="siro@nhs.net",
    )
    with app.store.unit() as unit:
        found = unit.register.by_reference(rel.reference)
        assert found is not None
        contacts = unit.register.contacts_for(found)
    assert contacts == {
        "aisha.khan@nhs.net",
        "tom.bradley@nhs.net",
        "helen.morris@nhs.net",
        "siro@nhs.net",
        "ig.lead@nhs.net",
    }


# --- the published register --------------------------------------------------------------------


def _four_relationships(app: App) -> None:
    """LCR-000001 publishable; 2 without a signed contract; 3 without processor consent; 4 ended."""
    _new(app, 0, s251_references="CAG 7-07(a)/2013", purposes="Commissioning; Invoice validation")
    _new(app, 1, contract_signed="No", contract_signed_date="")
    _new(app, 2, processor_consent="No")
    _end(app, _new(app, 3).reference, "01/03/2016")


def test_the_list_says_why_a_relationship_is_not_published(app: App) -> None:
    _four_relationships(app)
    rows = register_rows(app.store, APRIL.date(), published_only=False)
    assert {row.reference: row.not_published for row in rows} == {
        "LCR-000001": (),
        "LCR-000002": (NOT_SIGNED,),
        "LCR-000003": (NO_PROCESSOR_CONSENT,),
        "LCR-000004": ("ended on 01/03/2016",),
    }
    published = register_rows(app.store, APRIL.date(), published_only=True)
    assert [row.reference for row in published] == ["LCR-000001"]


def test_xlsx_export_holds_exactly_the_publishable_relationships(app: App, tmp_path: Path) -> None:
    _four_relationships(app)
    _new(app, 4)  # LCR-000005, publishable
    path = tmp_path / "register.xlsx"
    assert export_register(app.store, APRIL.date(), path).relationships == 2
    sheet = load_workbook(path).active
    assert sheet.title == "Register"
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == tuple(c.header for c in EXPORT_COLUMNS)
    assert [r[0] for r in rows[1:]] == ["LCR-000001", "LCR-000005"]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first == {
        "Relationship reference": "LCR-000001",
        "Commissioning organisation": "NHS Leeds North CCG",
        "Commissioning organisation ODS code": "02V",
        "Type of commissioning organisation": "CCG",
        "Data processor": "North of England Commissioning Support",
        "Data processor ODS code": "0DE",
        "Type of data processor": "CSU",
        "DSCRO (regional office)": "North",
        "Purposes": "Commissioning; Invoice validation",
        "Section 251 (CAG) approvals relied on": "CAG 7-07(a)/2013",
        "Service contract reference": "CSU-SLA-2016-100",
        "Contract start date": datetime(2016, 4, 1),
        "Contract end date": datetime(2030, 3, 31),
        "Effective from": datetime(2016, 4, 1),
        "Legal basis": None,
    }
    assert sheet["L2"].number_format == "DD/MM/YYYY"
    assert sheet["A1"].font.bold and sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].width > len("Commissioning organisation")


def test_csv_export_has_a_bom_uk_dates_and_the_same_rows(app: App, tmp_path: Path) -> None:
    _four_relationships(app)
    path = tmp_path / "register.csv"
    assert export_register(app.store, APRIL.date(), path).relationships == 1
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == [c.header for c in EXPORT_COLUMNS]
    assert len(rows) == 2
    assert rows[1][0] == "LCR-000001"
    assert rows[1][-4:] == ["01/04/2016", "31/03/2030", "01/04/2016", ""]


def test_text_that_looks_like_a_formula_is_exported_as_text(app: App, tmp_path: Path) -> None:
    _new(app, 0, commissioner_name='=HYPERLINK("http://x.invalid","CCG")')
    xlsx, text = tmp_path / "r.xlsx", tmp_path / "r.csv"
    export_register(app.store, APRIL.date(), xlsx)
    export_register(app.store, APRIL.date(), text)
    cell = load_workbook(xlsx).active["B2"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")
    assert "'=HYPERLINK" in text.read_text(encoding="utf-8-sig")


# --- importing a register kept by hand ----------------------------------------------------------

HEADERS = [
    "Reference",
    "Commissioner",
    "Commissioner ODS code",
    "Commissioner type",
    "Data processor",
    "Processor ODS",
    "Type of data processor",
    "DSCRO",
    "Purposes",
    "Contract reference",
    "Signed contract in place",
    "Contract start",
    "Contract end",
    "Commissioner consent",
    "Processor consent",
    "Notes",
]


def _good(
    ref: str, name: str, ods: str, contract: str, changes: Mapping[str, object] | None = None
) -> list[object]:
    row: dict[str, object] = {
        "Reference": ref,
        "Commissioner": name,
        "Commissioner ODS code": ods,
        "Commissioner type": "CCG",
        "Data processor": "North of England Commissioning Support",
        "Processor ODS": "0de",
        "Type of data processor": "commissioning support unit",
        "DSCRO": "DSCRO North",
        "Purposes": "Commissioning, IV",
        "Contract reference": contract,
        "Signed contract in place": "Y",
        "Contract start": date(2015, 4, 1),
        "Contract end": "31/03/2018",
        "Commissioner consent": "yes",
        "Processor consent": "✓",
        "Notes": "kept by hand",
    }
    row.update(changes or {})
    return [row[h] for h in HEADERS]


def _workbook(path: Path, rows: Sequence[Sequence[object]], sheet: str = "Register") -> Path:
    wb = Workbook()
    cover = wb.active
    cover.title = "About"
    cover.append(["This workbook lists the relationships."])
    ws = wb.create_sheet(sheet)
    ws.append(["Legitimate commissioning relationships, as at 31/03/2016"])
    ws.append([])
    ws.append(HEADERS)
    for row in rows:
        ws.append(list(row))
    wb.save(path)
    return path


GOOD_ROWS = [
    _good("LCR-000050", "NHS Darlington CCG", "00C", "SLA-1"),  # row 4
    _good("", "NHS Leeds North CCG", "02V", "SLA-2"),  # row 5: no reference
    _good("lcr 7", "NHS Dudley CCG", "05c", "SLA-3", {"Processor consent": "No"}),  # row 6
]


def _refused(report: ImportReport) -> dict[int, list[str]]:
    return {r.row: list(r.reasons) for r in report.refused}


def test_import_loads_good_rows_and_names_every_refused_row_and_why(
    app: App, tmp_path: Path
) -> None:
    dorset = ("NHS Dorset CCG", "11J")
    bad_dates = {"Contract start": "31/13/2016", "Contract end": "03/31/2017"}
    bad_rows: list[list[object]] = [
        _good("", "NHS Islington CCG", "", "SLA-4"),  # row 7: no ODS code
        _good("", "NHS Dorset CCG", "TOO-LONG-1", "SLA-5"),  # row 8
        _good("", "", "11J", "SLA-6", bad_dates),  # row 9: no name either
        _good("", *dorset, "SLA-7", {"Contract end": "31/03/2015"}),  # row 10
        _good("", *dorset, "SLA-8", {"Commissioner type": "Hospital"}),  # row 11
        _good("LCR-000050", "NHS Darlington CCG", "00C", "SLA-1"),  # row 12: repeats row 4
        _good("LCR-12x", *dorset, "SLA-9"),  # row 13
        _good("", "NHS Darlington CCG", "00C", "SLA-1"),  # row 14: row 4 without its reference
        [None] * len(HEADERS),  # row 15: blank, skipped
    ]
    path = _workbook(tmp_path / "register.xlsx", [*GOOD_ROWS, *bad_rows])
    report = import_register(
        app.store, path, now=app.clock(), dry_run=False, actor="jo", dscros=OFFICES
    )

    assert report.sheet == "Register"
    assert report.ignored_columns == ("Notes",)
    assert [(line.row, line.reference) for line in report.loaded] == [
        (4, "LCR-000050"),
        (5, "LCR-000051"),  # after the highest reference in the file
        (6, "LCR-000007"),
    ]
    refused = _refused(report)
    assert sorted(refused) == [7, 8, 9, 10, 11, 12, 13, 14]
    assert refused[7] == [
        "Commissioning organisation ODS code: this is missing; expected an ODS code of 3 to 6 "
        "letters and digits, e.g. 00C or RX1."
    ]
    assert 'we found "TOO-LONG-1"' in refused[8][0]
    assert [r.split(":")[0] for r in refused[9]] == [
        "Contract start date",
        "Contract end date",
        "Commissioning organisation",
    ]
    assert 'we found "03/31/2017"' in refused[9][1]
    assert refused[10] == [
        'Contract end date: we found "31/03/2015", expected a date after the contract start date '
        "(01/04/2015)."
    ]
    assert refused[11][0].startswith('Type of commissioning organisation: we found "Hospital"')
    assert refused[12] == ["LCR-000050 is also on row 4"]
    assert refused[14] == ["the same commissioner, processor and contract reference as row 4"]
    by_row = {r.row: r for r in report.refused}
    assert by_row[13].reference == "LCR-12x"
    assert by_row[13].reasons[0].startswith('Relationship reference: we found "LCR-12x"')

    rows = {r.reference: r for r in register_rows(app.store, APRIL.date(), published_only=False)}
    assert sorted(rows) == ["LCR-000007", "LCR-000050", "LCR-000051"]
    darlington = rows["LCR-000050"]
    assert (darlington.commissioner_ods, darlington.processor_ods, darlington.dscro) == (
        "00C",
        "0DE",
        "North",
    )
    assert darlington.purposes == ("Commissioning", "Invoice validation")
    assert darlington.contract_start == date(2015, 4, 1)
    assert darlington.contract_end == date(2018, 3, 31)
    assert darlington.processor_type == "CSU" and darlington.published
    assert rows["LCR-000007"].not_published == (NO_PROCESSOR_CONSENT,)
    (version,) = _versions(app, "LCR-000050")
    assert version.source == "import register.xlsx row 4"
    assert _register_events(app)[-1] == (
        "register import register.xlsx: 3 loaded, 0 merged, 0 unchanged, 8 refused"
    )


def test_import_merges_into_existing_relationships_as_new_versions(
    app: App, tmp_path: Path
) -> None:
    rel = _new(app, 1, processor_consent="No")  # LCR-000001, Darlington
    blanks_and_consent = {"Processor consent": "Yes", "Contract start": "", "Contract end": ""}
    rows = [
        _good(rel.reference, "NHS Darlington CCG", "00C", "CSU-SLA-2017-101", blanks_and_consent)
    ]
    report = import_register(
        app.store,
        _workbook(tmp_path / "r.xlsx", rows),
        now=app.clock(),
        dry_run=False,
        actor="jo",
        dscros=OFFICES,
    )
    assert [(m.row, m.reference) for m in report.merged] == [(4, "LCR-000001")]
    assert "processor_consent No → Yes" in report.merged[0].note
    versions = _versions(app, rel.reference)
    assert [v.version for v in versions] == [1, 2]
    assert versions[1].values["contract_start"] == "2016-04-01"  # blank cells keep the value
    assert versions[1].values["processor_consent"] is True
    assert versions[1].effective_from == APRIL.date()


def test_import_refuses_to_move_a_relationship_to_another_commissioner(
    app: App, tmp_path: Path
) -> None:
    rel = _new(app, 1)  # Darlington, 00C
    rows = [_good(rel.reference, "NHS Dorset CCG", "11J", "SLA-1")]
    report = import_register(
        app.store,
        _workbook(tmp_path / "r.xlsx", rows),
        now=app.clock(),
        dry_run=False,
        actor="jo",
        dscros=OFFICES,
    )
    assert "a relationship of 00C, not 11J" in _refused(report)[4][0]
    assert len(_versions(app, rel.reference)) == 1


def test_a_dry_run_reports_the_same_and_changes_nothing(app: App, tmp_path: Path) -> None:
    _new(app, 1)
    path = _workbook(tmp_path / "r.xlsx", [*GOOD_ROWS, _good("", "X", "", "")])
    before = _counts(app)
    dry = import_register(
        app.store, path, now=app.clock(), dry_run=True, actor="jo", dscros=OFFICES
    )
    assert _counts(app) == before
    real = import_register(
        app.store, path, now=app.clock(), dry_run=False, actor="jo", dscros=OFFICES
    )
    assert dry.dry_run and not real.dry_run
    assert {**dry.as_dict(), "dry_run": False} == real.as_dict()
    assert len(real.loaded) == 3 and len(real.refused) == 1


def test_importing_the_same_file_twice_changes_nothing_the_second_time(
    app: App, tmp_path: Path
) -> None:
    path = _workbook(tmp_path / "r.xlsx", GOOD_ROWS)
    first = import_register(app.store, path, now=app.clock(), dry_run=False, actor="jo")
    assert len(first.loaded) == 3
    counts = _counts(app)[:2]
    second = import_register(app.store, path, now=app.clock(), dry_run=False, actor="jo")
    assert (second.loaded, second.merged, second.refused) == ((), (), ())
    assert [(u.row, u.reference) for u in second.unchanged] == [
        (4, "LCR-000050"),
        (5, "LCR-000051"),  # recognised by commissioner, processor and contract
        (6, "LCR-000007"),
    ]
    assert _counts(app)[:2] == counts


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_an_exported_register_imports_back_unchanged(app: App, tmp_path: Path, fmt: str) -> None:
    _four_relationships(app)
    path = tmp_path / f"register.{fmt}"
    export_register(app.store, APRIL.date(), path)
    report = import_register(
        app.store, path, now=app.clock(), dry_run=False, actor="jo", dscros=OFFICES
    )
    assert [(u.row, u.reference) for u in report.unchanged] == [(2, "LCR-000001")]
    assert (report.loaded, report.merged, report.refused) == ((), (), ())


def test_a_file_that_is_not_a_register_is_refused_whole(app: App, tmp_path: Path) -> None:
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"PK\x03\x04 not a workbook")
    with pytest.raises(RegisterError, match=r"not a readable \.xlsx"):
        import_register(app.store, junk, now=app.clock(), dry_run=True, actor="jo")
    notes = tmp_path / "notes.csv"
    notes.write_text("Name,Colour\nJo,blue\n")
    with pytest.raises(RegisterError, match="no header row"):
        import_register(app.store, notes, now=app.clock(), dry_run=True, actor="jo")
    with pytest.raises(RegisterError, match=r"\.xlsx or \.csv"):
        import_register(app.store, tmp_path / "r.xls", now=app.clock(), dry_run=True, actor="jo")


# --- the commands -------------------------------------------------------------------------------


def _invoke(app: App, *args: str) -> Result:
    env = {
        "INTAKE_BOT_DATABASE_URL": app.settings.database_url(),
        "INTAKE_BOT_MAILBOX_URL": app.settings.mailbox.url,
        "INTAKE_BOT_OUTGOING_URL": app.settings.outgoing.url,
        "COLUMNS": "200",
    }
    config = str(REPO / "config/intake-bot.toml")
    return CliRunner().invoke(cli_app, ["--config", config, "register", *args], env=env)


def test_register_commands_list_export_and_import(app: App, tmp_path: Path) -> None:
    _four_relationships(app)
    listed = _invoke(app, "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert [row["reference"] for row in json.loads(listed.stdout)] == ["LCR-000001"]
    every = _invoke(app, "list", "--all")
    assert every.exit_code == 0 and "no signed service contract" in every.stdout
    out = tmp_path / "published.csv"
    exported = _invoke(app, "export", "--format", "csv", "-o", str(out))
    assert exported.exit_code == 0 and "wrote 1 relationship" in exported.stdout
    # A cell that rich would take for markup is shown as it is.
    bad = _workbook(tmp_path / "bad.xlsx", [_good("", "NHS Odd CCG", "[/x]", "SLA-1")])
    report = _invoke(app, "import", str(bad), "--dry-run")
    assert report.exit_code == 1, report.output
    assert "refused" in report.stdout and '"[/x]"' in report.stdout
    ok = _invoke(app, "import", str(out), "--json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["unchanged"][0]["reference"] == "LCR-000001"


def test_register_import_takes_an_office_by_the_alias_its_settings_give(
    app: App, tmp_path: Path
) -> None:
    path = _workbook(
        tmp_path / "kept.xlsx",
        [
            _good("", "NHS Dudley CCG", "05C", "SLA-3", {"DSCRO": "M&E"}),
            _good("", "NHS Dorset CCG", "11J", "SLA-4", {"DSCRO": "Wessex"}),
        ],
    )
    report = _invoke(app, "import", str(path), "--json")
    assert report.exit_code == 1, report.output  # a row refused
    told = json.loads(report.stdout)
    assert [line["row"] for line in told["loaded"]] == [4]
    ((reason,),) = [r["reasons"] for r in told["refused"]]
    assert reason == (
        'DSCRO (regional office): we found "Wessex", expected one of the regional offices: North, '
        "Midlands and East (or Midlands & East, M&E), London, South."
    )
    (row,) = register_rows(app.store, APRIL.date(), published_only=False)
    assert (row.commissioner_ods, row.dscro) == ("05C", "Midlands and East")


def test_the_export_file_name_decides_the_format_and_a_mismatch_is_refused(
    app: App, tmp_path: Path
) -> None:
    as_csv = tmp_path / "r.csv"
    written = _invoke(app, "export", "-o", str(as_csv))
    assert written.exit_code == 0, written.output
    assert as_csv.read_bytes().startswith(b"\xef\xbb\xbfRelationship reference,")
    as_xlsx = tmp_path / "r.xlsx"
    assert _invoke(app, "export", "-o", str(as_xlsx), "--format", "xlsx").exit_code == 0
    assert load_workbook(as_xlsx).active["A1"].value == "Relationship reference"
    mismatch = _invoke(app, "export", "-o", str(tmp_path / "m.csv"), "--format", "xlsx")
    assert mismatch.exit_code == 2
    assert "m.csv names a .csv file, but --format xlsx was asked for" in mismatch.output
    unknown = _invoke(app, "export", "-o", str(tmp_path / "register.txt"))
    assert unknown.exit_code == 2 and ".xlsx or .csv" in unknown.output
    assert not (tmp_path / "m.csv").exists() and not (tmp_path / "register.txt").exists()


def test_the_history_holds_requests_naming_it_that_were_never_applied(app: App) -> None:
    rel = _new(app)
    other = _new(app, 1)
    change = {"request_type": CHANGE, "change_description": "As below."}
    pending = _file(app, 0, existing_reference=rel.reference.lower(), **change)
    elsewhere = _file(app, 1, existing_reference=other.reference, **change)
    found = relationship_history(app.store, rel.reference)
    requests = {e.request for e in found.events}
    assert f"LR-{pending:06d}" in requests  # filed, never approved: the register never moved
    assert f"LR-{elsewhere:06d}" not in requests
    assert [v.version for v in found.versions] == [1]
