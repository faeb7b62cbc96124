"""Succession reviews in the web console are each office's own, and decided once: a lead sees
and decides only their offices' items (another office's is no item at all), two decisions on
one item at once are one decision and one refusal, and an odd item number is a message."""

from __future__ import annotations

import itertools
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from intake_bot.bootstrap import App
from intake_bot.domain.ods_views import ReviewItem
from intake_bot.domain.organisations import OdsError
from intake_bot.store.store import Store
from intake_bot.web.app import create_app
from tests.conftest import FrozenClock, sql_store
from tests.integration.test_ods import APRIL_2016, LEEDS, MAY_2026, _commissioner, _events
from tests.integration.test_web_console import NORTH_LEAD, PASSWORD, csrf_of, sign_in
from tests.ods_files import sub_icb_files
from tests.register_cases import approved_relationship

_uids = itertools.count(1)
DARLINGTON = {"commissioner_ods": "00C", "commissioner_name": "NHS Darlington CCG"}


def _north_and_south_items(app: App, clock: FrozenClock, folder: Path) -> dict[str, ReviewItem]:
    """03G's relationship in the North office, 00C's in the South; both CCGs closed in 2022."""
    clock.now = APRIL_2016
    approved_relationship(app, _uids, **LEEDS, dscro="North")
    approved_relationship(app, _uids, **DARLINGTON, dscro="South")
    clock.now = MAY_2026
    items = app.organisations.import_files(sub_icb_files(folder), actor="op").reviews
    return {item.dscro: item for item in items}


def test_a_lead_sees_and_decides_only_their_offices_items(
    app: App, clock: FrozenClock, tmp_path: Path
) -> None:
    items = _north_and_south_items(app, clock, tmp_path)
    south = items["South"]
    app.staff.add(
        NORTH_LEAD, name="lead", offices=["North"], role="lead", password=PASSWORD, actor="t"
    )
    with TestClient(create_app(app, secret="s" * 48, secure_cookies=False)) as console:
        sign_in(console, NORTH_LEAD)
        page = console.get("/register").text
        assert items["North"].label in page and south.label not in page
        form = {"csrf": csrf_of(page), "review": str(south.id), "decision": "end"}
        refused = console.post("/register/reviews", data=form).text
        assert f"ODS-{south.id}: no such review item" in refused
    assert _commissioner(app, south.reference) == ("00C", "active")
    assert [e for e in _events(app, "ods_review") if e[1] in ("carried", "ended")] == []
    # the CLI and an admin still see every office's
    assert {i.dscro for i in app.organisations.reviews()} == {"North", "South"}


def test_the_queues_page_points_to_the_offices_review_items(
    app: App, clock: FrozenClock, tmp_path: Path
) -> None:
    """Review items are no queue, but they wait for staff: the queues page (where staff start)
    counts their offices' own and links to them on the register page."""
    app.staff.add(
        NORTH_LEAD, name="lead", offices=["North"], role="lead", password=PASSWORD, actor="t"
    )
    with TestClient(create_app(app, secret="s" * 48, secure_cookies=False)) as console:
        sign_in(console, NORTH_LEAD)
        assert "ODS review item" not in console.get("/queues").text
        _north_and_south_items(app, clock, tmp_path)
        page = console.get("/queues").text
    link = '<a href="/register#reviews-title">1 ODS review item</a> waits for a decision'
    assert link in page  # North's; South's is not counted


@pytest.mark.parametrize("number", ["³", "١", "99999999999999999999", "9" * 5000, "-1", " "])
def test_an_odd_item_number_is_a_message_not_a_server_error(
    app: App, clock: FrozenClock, tmp_path: Path, number: str
) -> None:
    item = _north_and_south_items(app, clock, tmp_path)["North"]
    app.staff.add(
        NORTH_LEAD, name="lead", offices=["North"], role="lead", password=PASSWORD, actor="t"
    )
    with TestClient(create_app(app, secret="s" * 48, secure_cookies=False)) as console:
        sign_in(console, NORTH_LEAD)
        form = {"csrf": csrf_of(console.get("/register").text), "review": number}
        answer = console.post("/register/reviews", data={**form, "decision": "carry"})
        assert answer.status_code == 200 and "Choose a review item" in answer.text
    assert app.organisations.reviews()[0].id == item.id  # still open


def test_two_decisions_on_one_item_at_once_are_one_decision(
    app: App, clock: FrozenClock, tmp_path: Path, database_url: str
) -> None:
    item = _north_and_south_items(app, clock, tmp_path)["North"]
    stores = [Store.from_url(database_url) for _ in range(2)]
    outcome: list[object] = []

    def decide(store: Store, decision: str) -> None:
        try:
            outcome.append(
                replace(app.organisations, store=store).decide(item.id, decision, actor=decision)
            )
        except OdsError as exc:
            outcome.append(exc)

    threads = [
        threading.Thread(target=decide, args=(store, decision))
        for store, decision in zip(stores, ("carry", "end"), strict=True)
    ]
    try:
        with app.store.unit() as unit:  # both wait here for the list, then go one by one
            unit.organisations.lock_list()
            for thread in threads:
                thread.start()
            threads[0].join(0.5)
        for thread in threads:
            thread.join(60)
    finally:
        for store in stores:
            store.dispose()
    refused = [o for o in outcome if isinstance(o, OdsError)]
    assert len(outcome) == 2 and len(refused) == 1, outcome
    assert "was decided already" in str(refused[0])
    decided = [e for e in _events(app, "ods_review") if e[1] in ("carried", "ended")]
    assert len(decided) == 1


def test_an_item_whose_contacts_have_no_address_says_so_and_the_decision_too(
    app: App, clock: FrozenClock, tmp_path: Path
) -> None:
    from tests.unit.test_register_service import sheet

    clock.now = MAY_2026
    # A register kept by hand has no contact addresses: nobody can be emailed.
    row = ",NHS Leeds South CCG,03G,NECS,0AR,North,SLA-2,Y,01/04/2015,,"
    app.register.import_file(sheet(tmp_path, row), dry_run=False, actor="jo")
    (item,) = app.organisations.import_files(sub_icb_files(tmp_path), actor="op").reviews
    assert item.contacts_told is False
    app.staff.add(
        NORTH_LEAD, name="lead", offices=["North"], role="lead", password=PASSWORD, actor="t"
    )
    with TestClient(create_app(app, secret="s" * 48, secure_cookies=False)) as console:
        sign_in(console, NORTH_LEAD)
        page = console.get("/register").text
        assert "1 item to review" in page and "not emailed" in page
        form = {"csrf": csrf_of(page), "review": str(item.id), "decision": "end"}
        done = console.post("/register/reviews", data=form).text
        assert "no email address for its requester or authoriser: tell them yourself" in done


def test_an_approval_while_an_import_holds_the_list_stands_and_soon_returns(
    app: App, clock: FrozenClock, tmp_path: Path, database_url: str
) -> None:
    # The approval is made at once; its review item, which needs the list, waits 5 s at most
    # (not an import's 30 s) and is otherwise left to the next import, which opens it once.
    import copy
    import time

    from intake_bot.domain.status import Status
    from intake_bot.domain.triage import parse_request_reference
    from intake_bot.ports import MessageRef
    from intake_bot.samples import DOCX, docx_form, email, new_request

    clock.now = APRIL_2016
    raw = email(attachments=[("form.docx", DOCX, docx_form(new_request(0, **LEEDS)))])
    (ref,) = app.intake.ingest(raw, MessageRef("INBOX", "900"), now=app.clock()).references
    assert parse_request_reference(ref) is not None
    app.requests.change_status(ref, Status.IN_REVIEW, actor="jo")
    clock.now = MAY_2026
    files = sub_icb_files(tmp_path)
    app.organisations.import_files(files, actor="op")  # 03G closed: no relationship yet
    store = Store.from_url(database_url)
    requests = copy.copy(app.requests)
    requests.store = store
    took: list[float] = []

    def approve() -> None:
        began = time.monotonic()
        requests.change_status(ref, Status.APPROVED, actor="jo")
        took.append(time.monotonic() - began)

    # An import holding the list for 15 s. SQLite has one writer: the approval itself waits
    # for it there; on PostgreSQL it need not.
    hold = 15 if sql_store(app).is_postgres else 3
    thread = threading.Thread(target=approve)
    try:
        with app.store.unit() as unit:
            unit.organisations.lock_list()
            thread.start()
            thread.join(hold)
        thread.join(60)
    finally:
        store.dispose()
    assert took and took[0] < 11, took  # not the 30 s an import waits
    assert _commissioner(app, "LCR-000001") == ("03G", "active")  # the approval stands
    app.organisations.import_files(files, actor="op")
    assert [i.closed_code for i in app.organisations.reviews()] == ["03G"]


def test_the_heading_counts_items_and_the_relationships_they_are_on(
    app: App, clock: FrozenClock, tmp_path: Path
) -> None:
    from tests.ods_files import report, report_row, succ_row

    clock.now = APRIL_2016
    approved_relationship(app, _uids, **LEEDS, processor_ods="0AR", dscro="North")
    clock.now = MAY_2026
    ecsu = report(tmp_path / "ecsu.csv", [
        report_row("0AR", "NORTH OF ENGLAND COMMISSIONING SUPPORT UNIT", closed="20270331"),
        report_row("0CX", "NORTH COMMISSIONING SUPPORT UNIT", opened="20270401")])  # fmt: skip
    succ = report(tmp_path / "csu-succ.csv", [succ_row("0AR", "0CX", "20270401")])
    files = [*sub_icb_files(tmp_path), ecsu, succ]
    assert len(app.organisations.import_files(files, actor="op").reviews) == 2
    app.staff.add(
        NORTH_LEAD, name="lead", offices=["North"], role="lead", password=PASSWORD, actor="t"
    )
    with TestClient(create_app(app, secret="s" * 48, secure_cookies=False)) as console:
        sign_in(console, NORTH_LEAD)
        page = console.get("/register").text
    assert "2 items to review, on 1 relationship</h2>" in page
