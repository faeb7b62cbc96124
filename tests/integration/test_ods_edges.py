"""ODS at its edges on the database, with the real templates: a relationship set up after its
organisation closed (the decision, and every word of it, dates from its own start), a CCG that
only the successions file still names (the reports dropped it), and two imports at once."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from intake_bot.bootstrap import App
from intake_bot.domain.organisations import OdsError, last_entries
from intake_bot.ods import read_ods_file
from intake_bot.samples import docx_form, new_request
from intake_bot.services.ods import _apply_organisations
from intake_bot.store import ods_repo
from intake_bot.store.store import Store
from tests.conftest import FrozenClock
from tests.integration.test_ods import (
    LEEDS,
    MAY_2026,
    _assert_threaded,
    _commissioner,
    _leeds_in_force_in_may_2026,
    _outbox,
    _text,
)
from tests.ods_files import report, report_row, sub_icb_files, succ_row
from tests.register_cases import approved_relationship

JANUARY_2024 = datetime(2024, 1, 2, 9, tzinfo=UTC)
_uids = itertools.count(1)


def _set_up_in_2024(app: App, clock: FrozenClock) -> str:
    """A relationship on 03G (closed 30/06/2022) whose terms began on 01/01/2024."""
    clock.now = JANUARY_2024
    rel = approved_relationship(app, _uids, **LEEDS, effective_date="01/01/2024")
    clock.now = MAY_2026
    return rel.reference


def test_a_carry_dates_from_the_terms_in_force_and_says_so(
    app: App, clock: FrozenClock, tmp_path: Path
) -> None:
    reference = _set_up_in_2024(app, clock)
    (item,) = app.organisations.import_files(sub_icb_files(tmp_path), actor="op").reviews
    done = app.organisations.decide(item.id, "carry", actor="jo")

    assert done.changes_on is not None and f"{done.changes_on:%d/%m/%Y}" == "01/01/2024"
    (told,) = _outbox(app, "ods_decision")
    assert "From 01/01/2024 the register names" in _text(told.raw)
    assert _commissioner(app, reference)[0] == "15F"


def test_an_end_dates_from_the_terms_in_force_and_does_not_call_it_the_day_after_the_closure(
    app: App, clock: FrozenClock, tmp_path: Path
) -> None:
    _set_up_in_2024(app, clock)
    (item,) = app.organisations.import_files(sub_icb_files(tmp_path), actor="op").reviews
    app.organisations.decide(item.id, "end", actor="jo")

    (told,) = _outbox(app, "ods_decision")
    text = _text(told.raw)
    assert "it is not in force from 01/01/2024, the day its terms in force began" in text
    assert "the day after 03G" not in text


def test_a_ccg_only_the_successions_file_names_is_closed_everywhere(
    app: App, clock: FrozenClock, tmp_path: Path
) -> None:
    clock.now = datetime(2016, 4, 1, 9, tzinfo=UTC)
    approved_relationship(app, _uids, **LEEDS)
    clock.now = MAY_2026
    succ = report(tmp_path / "succ.csv", [succ_row("03G", "15F", "20220701")])
    (item,) = app.organisations.import_files([succ], actor="op").reviews  # no report at all
    assert item.closed_code == "03G" and item.successors == (("15F", ""),)

    (notice,) = _outbox(app, "ods_succession")
    assert "shows that 03G, the commissioning organisation" in _text(notice.raw)
    preview = app.previews.parse("f.docx", docx_form(new_request(0, **LEEDS)))
    (request,) = preview.requests
    assert any("03G closed on 30/06/2022; its successor is 15F" in p for p in request.problems)

    eccg, _ = sub_icb_files(tmp_path)  # the report after all: the same closure, now named
    again = app.organisations.import_files([eccg, succ], actor="op")
    assert again.reviews == () and len(_outbox(app, "ods_succession")) == 1
    assert app.organisations.import_files([eccg, succ], actor="op").unchanged


def test_two_imports_at_once_apply_one_after_the_other(
    app: App, database_url: str, tmp_path: Path
) -> None:
    # Another worker's import, on its own connection, while this one holds the list.
    files = sub_icb_files(tmp_path)
    other_store = Store.from_url(database_url)
    other = replace(app.organisations, store=other_store)
    outcome: list[object] = []

    def import_there() -> None:
        try:
            outcome.append(other.import_files(files, actor="op2"))
        except Exception as exc:
            outcome.append(exc)

    try:
        with app.store.unit() as unit:
            unit.organisations.lock_list()
            there = threading.Thread(target=import_there)
            there.start()
            there.join(1.0)
            assert there.is_alive(), "the second import did not wait for the first"
            orgs, _ = last_entries([read_ods_file(f) for f in files])
            _apply_organisations(unit, orgs, MAY_2026)  # the first import's work
        there.join(60)
        (report_there,) = outcome
        assert not isinstance(report_there, Exception), report_there
        changes = {(c.what, c.code) for c in report_there.changes}  # type: ignore[attr-defined]
        assert ("opened", "15F") not in changes and ("succeeded", "03G") in changes
    finally:
        other_store.dispose()


def test_an_import_that_waits_too_long_for_the_list_gives_up_and_says_why(
    app: App, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another import or decision that hangs holding the list is not waited on for ever.
    monkeypatch.setattr(ods_repo, "LIST_LOCK_WAIT_MS", 300, raising=False)
    files = sub_icb_files(tmp_path)
    other_store = Store.from_url(database_url)
    other = replace(app.organisations, store=other_store)
    outcome: list[object] = []

    def import_there() -> None:
        try:
            outcome.append(other.import_files(files, actor="op2"))
        except Exception as exc:
            outcome.append(exc)

    try:
        with app.store.unit() as unit:
            unit.organisations.lock_list()
            there = threading.Thread(target=import_there)
            started = time.monotonic()
            there.start()
            there.join(20)
            waited = time.monotonic() - started
            assert not there.is_alive(), "the second import waited for ever"
        (error,) = outcome
        assert isinstance(error, OdsError), error
        assert "0.3 s" in str(error) and "nothing was changed" in str(error)
        assert 0.25 <= waited < 10
        with other_store.unit() as unit:  # the list waits for the import, and it wrote nothing
            assert not unit.organisations.all()
        # The shorter wait was for the list only: the connection waits as long as before.
        with other_store.unit() as unit:
            asked = "SHOW lock_timeout" if unit.is_postgres else "PRAGMA busy_timeout"
            assert str(unit.session.execute(text(asked)).scalar()) == (
                "0" if unit.is_postgres else "30000"
            )
    finally:
        other_store.dispose()
    report = other.import_files(files, actor="op2")  # free again: the import goes through
    assert report.changes


def test_the_contacts_told_of_a_closure_are_told_when_ods_moves_its_date_or_successor(
    app: App, clock: FrozenClock, tmp_path: Path
) -> None:
    rel = _leeds_in_force_in_may_2026(app, clock)

    def files(name: str, closes: str, successor: str) -> list[Path]:
        rows = [
            report_row("03G", "NHS LEEDS SOUTH AND EAST CCG", closed=closes),
            report_row(successor, f"NHS WEST YORKSHIRE ICB - {successor}"),
        ]
        succ = report(tmp_path / f"{name}-succ.csv", [succ_row("03G", successor, "20270401")])
        return [report(tmp_path / f"{name}.csv", rows), succ]

    app.organisations.import_files(files("a", "20270331", "15F"), actor="op")
    (opened,) = _outbox(app, "ods_succession")
    moved = files("b", "20270630", "16C")
    app.organisations.import_files(moved, actor="op")
    _, update = _outbox(app, "ods_succession")
    assert update.recipients == opened.recipients
    _assert_threaded(update.raw, on=opened.message_id)
    assert update.subject.startswith(f"[{rel.reference}] updated: 03G is closing")
    said = _text(update.raw)
    assert "ODS has changed the close date from 31/03/2027 to 30/06/2027 and the successor" in said
    assert "from 15F to 16C" in said and "closes on 30/06/2027" in said
    app.organisations.import_files(moved, actor="op")  # the same files again: nothing to tell
    assert len(_outbox(app, "ods_succession")) == 2
