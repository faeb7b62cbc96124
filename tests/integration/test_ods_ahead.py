"""A closure ODS announces ahead of its date: carried over now, the register keeps naming the
organisation in force until the successor takes over (the register decides who may receive
data today), and then names the successor."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from intake_bot.bootstrap import App
from intake_bot.domain.organisations import OdsError
from tests.conftest import FrozenClock
from tests.integration.test_ods import LEEDS
from tests.ods_files import report, report_row, succ_row
from tests.register_cases import approved_relationship

DECEMBER_2026 = datetime(2026, 12, 1, 9, tzinfo=UTC)
_uids = itertools.count(1)


def _closing_in_2027(folder: Path) -> list[Path]:
    """03G closes on 31/03/2027; 99Z (made up) opens the next day and succeeds it."""
    eccg = report(
        folder / "eccg.csv",
        [
            report_row("03G", "NHS LEEDS SOUTH AND EAST CCG", closed="20270331"),
            report_row("99Z", "NHS WEST YORKSHIRE ICB - 99Z", opened="20270401"),
        ],
    )
    return [eccg, report(folder / "succ.csv", [succ_row("03G", "99Z", "20270401")])]


def _listed(app: App, reference: str) -> tuple[str, date | None]:
    (row,) = [r for r in app.register.rows(published_only=False) if r.reference == reference]
    return row.commissioner_ods, row.effective_from


def test_a_carry_ahead_of_the_closure_changes_the_register_on_the_day_not_before(
    app: App, clock: FrozenClock, tmp_path: Path
) -> None:
    clock.now = DECEMBER_2026
    reference = approved_relationship(app, _uids, **LEEDS).reference
    assert _listed(app, reference) == ("03G", date(2016, 4, 1))
    (item,) = app.organisations.import_files(_closing_in_2027(tmp_path), actor="op").reviews
    done = app.organisations.decide(item.id, "carry", actor="jo")
    assert done.changes_on == date(2027, 4, 1)

    # Today 03G still holds the relationship; the published register and its export say so.
    assert _listed(app, reference) == ("03G", date(2016, 4, 1))
    exported = app.register.export(tmp_path / "register.csv")
    assert exported.relationships == 1
    assert "03G" in exported.path.read_text(encoding="utf-8")
    assert "99Z" not in exported.path.read_text(encoding="utf-8")

    clock.now = datetime(2027, 4, 1, 9, tzinfo=UTC)
    assert _listed(app, reference) == ("99Z", date(2027, 4, 1))


def _ends_on(app: App, reference: str, day: date | None = None) -> date | None:
    """The relationship's end date (set to `day` first, as an approved end request does)."""
    with app.store.unit() as unit:
        (rel,) = [r for r, _ in unit.register.with_current() if r.reference == reference]
        if day is not None:
            rel.ended_on = day
        return rel.ended_on


def test_a_relationship_that_ends_before_the_closure_takes_effect_gets_no_review(
    app: App, clock: FrozenClock, tmp_path: Path
) -> None:
    clock.now = DECEMBER_2026
    reference = approved_relationship(app, _uids, **LEEDS).reference
    _ends_on(app, reference, date(2027, 2, 1))  # an end approved for 01/02/2027
    report_ = app.organisations.import_files(_closing_in_2027(tmp_path), actor="op")
    assert report_.reviews == ()
    assert _ends_on(app, reference) == date(2027, 2, 1)


def test_an_item_whose_relationship_now_ends_first_is_withdrawn_not_decided(
    app: App, clock: FrozenClock, tmp_path: Path
) -> None:
    # The item opened; then an end before the closure was approved: neither decision may move
    # the end later (an "end") or add terms after it (a "carry").
    clock.now = DECEMBER_2026
    reference = approved_relationship(app, _uids, **LEEDS).reference
    (item,) = app.organisations.import_files(_closing_in_2027(tmp_path), actor="op").reviews
    _ends_on(app, reference, date(2027, 2, 1))
    for decision in ("end", "carry"):
        with pytest.raises(OdsError, match="ends on 01/02/2027, no later than 03G's closure"):
            app.organisations.decide(item.id, decision, actor="jo")
    assert _ends_on(app, reference) == date(2027, 2, 1)
    clock.now = datetime(2027, 1, 15, 9, tzinfo=UTC)
    assert _listed(app, reference) == ("03G", date(2016, 4, 1))


def test_an_import_says_a_closure_published_ahead_closes_and_one_past_closed(
    app: App, clock: FrozenClock, tmp_path: Path
) -> None:
    clock.now = DECEMBER_2026
    closing = app.organisations.import_files(_closing_in_2027(tmp_path), actor="op")
    (change,) = [c for c in closing.changes if (c.code, c.what) == ("03G", "closed")]
    assert (change.what, change.detail) == (
        "closed",
        "NHS LEEDS SOUTH AND EAST CCG, closes on 31/03/2027",
    )
    clock.now = datetime(2027, 5, 1, 9, tzinfo=UTC)  # ODS moves it back to a day now past
    moved = report(
        tmp_path / "moved.csv",
        [report_row("03G", "NHS LEEDS SOUTH AND EAST CCG", closed="20270430")],
    )
    changes = app.organisations.import_files([moved], actor="op").changes
    (change,) = [c for c in changes if (c.code, c.what) == ("03G", "closed")]
    assert change.detail == "NHS LEEDS SOUTH AND EAST CCG, on 30/04/2027"


def test_a_decision_on_a_closure_ods_then_withdraws_is_named_once_for_staff_to_check(
    app: App, clock: FrozenClock, tmp_path: Path
) -> None:
    clock.now = DECEMBER_2026
    reference = approved_relationship(app, _uids, **LEEDS).reference
    (item,) = app.organisations.import_files(_closing_in_2027(tmp_path), actor="op").reviews
    app.organisations.decide(item.id, "carry", actor="jo")
    open_again = report(tmp_path / "open.csv", [report_row("03G", "NHS LEEDS SOUTH AND EAST CCG")])
    first = app.organisations.import_files([open_again], actor="op")
    (check,) = [c for c in first.changes if c.what == "decision to check"]
    assert check.code == "03G" and "ODS now gives 03G no close date" in check.detail
    (decided,) = app.organisations.reviews(include_decided=True)
    assert decided.status == "carried" and "ODS now gives 03G no close date" in decided.note
    assert app.organisations.import_files([open_again], actor="op").unchanged  # told once
    clock.now = datetime(2027, 4, 1, 9, tzinfo=UTC)
    assert _listed(app, reference)[0] == "99Z"  # the register is as staff decided
