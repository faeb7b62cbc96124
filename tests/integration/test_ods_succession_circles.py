"""Successions that go round in a circle on one day are refused, on real databases: the import
names the file and the circle, and loads nothing (the organisations in the same import
neither); successions years apart that come back to a code are history, and load."""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from pathlib import Path

import pytest

from intake_bot.bootstrap import App
from intake_bot.domain.organisations import OdsError, Succession
from intake_bot.domain.succession_circles import same_day_circle
from tests.ods_files import report, report_row, succ_row

pytestmark = pytest.mark.integration


def _icbs(folder: Path) -> Path:
    return report(
        folder / "eccg.csv",
        [
            report_row("15F", "NHS WEST YORKSHIRE ICB - 15F", opened="20220701", closed="20260331"),
            report_row("X2A", "NHS WEST AND NORTH YORKSHIRE ICB - X2A", opened="20260401"),
        ],
    )


def _counts(app: App) -> tuple[int, int]:
    with app.store.unit() as unit:
        return len(unit.organisations.all()), len(unit.organisations.successions())


def test_a_circle_in_one_file_is_refused_naming_it_and_nothing_is_loaded(
    app: App, tmp_path: Path
) -> None:
    succ = report(
        tmp_path / "succ.csv",
        [succ_row("15F", "X2A", "20260401"), succ_row("X2A", "15F", "20260401")],
    )
    with pytest.raises(OdsError) as refused:
        app.organisations.import_files([_icbs(tmp_path), succ], actor="op")
    said = str(refused.value)
    assert said.startswith("succ.csv: the successions ")
    assert "15F → X2A → 15F" in said or "X2A → 15F → X2A" in said
    assert "nothing was loaded" in said
    assert _counts(app) == (0, 0)


def test_a_circle_made_with_successions_imported_before_is_refused_too(
    app: App, tmp_path: Path
) -> None:
    first = report(tmp_path / "succ.csv", [succ_row("15F", "X2A", "20260401")])
    app.organisations.import_files([_icbs(tmp_path), first], actor="op")
    back = report(tmp_path / "back.csv", [succ_row("X2A", "15F", "20260401")])
    with pytest.raises(OdsError, match=r"^back\.csv: the successions .* go round in a circle"):
        app.organisations.import_files([back], actor="op")
    assert _counts(app) == (2, 1)


def test_successions_years_apart_that_come_back_to_a_code_load(app: App, tmp_path: Path) -> None:
    succ = report(
        tmp_path / "succ.csv",
        [succ_row("15F", "X2A", "20220701"), succ_row("X2A", "15F", "20260401")],
    )
    app.organisations.import_files([_icbs(tmp_path), succ], actor="op")
    assert _counts(app) == (2, 2)


def test_an_undated_succession_closes_a_circle_on_any_day() -> None:
    day = date(2026, 4, 1)
    circle = same_day_circle(
        [Succession("A", "B", day), Succession("B", "C", None), Succession("C", "A", day)]
    )
    assert circle[0] == circle[-1] and set(circle) == {"A", "B", "C"}
    assert same_day_circle([Succession("A", "B", day), Succession("B", "C", day)]) == []


def test_a_longer_circle_is_named_in_the_order_the_work_passes_and_by_its_file(
    app: App, tmp_path: Path
) -> None:
    rows = [
        succ_row("A1A", "B2B", "20300401"),
        succ_row("B2B", "C3C", "20300401"),
        succ_row("C3C", "A1A", "20300401"),
    ]
    with pytest.raises(OdsError) as refused:
        app.organisations.import_files([report(tmp_path / "abc.csv", rows)], actor="op")
    said = str(refused.value)
    assert said.startswith("abc.csv: the successions ")
    circle = said.split("the successions ")[1].split(" take effect")[0].split(" → ")
    steps = set(pairwise(circle))
    assert steps == {("A1A", "B2B"), ("B2B", "C3C"), ("C3C", "A1A")}


def test_the_file_that_closes_a_circle_with_earlier_imports_is_named(
    app: App, tmp_path: Path
) -> None:
    before = [succ_row("08H", "00C", "20310401"), succ_row("16C", "08H", "20310401")]
    app.organisations.import_files([report(tmp_path / "succ.csv", before)], actor="op")
    closing = report(tmp_path / "fix.csv", [succ_row("00C", "16C", "20310401")])
    with pytest.raises(OdsError, match=r"^fix\.csv: the successions "):
        app.organisations.import_files([closing], actor="op")


def test_a_circle_loaded_before_the_check_does_not_block_an_import_that_gives_none_of_it(
    app: App, tmp_path: Path
) -> None:
    day = date(2026, 4, 1)
    with app.store.unit() as unit:  # as a database filled before imports were checked has it
        unit.add(Succession("15F", "X2A", day))
        unit.add(Succession("X2A", "15F", day))
    app.organisations.import_files([_icbs(tmp_path)], actor="op")
    assert _counts(app) == (2, 2)
    # a file that gives a step of it is refused, naming the file
    again = report(tmp_path / "again.csv", [succ_row("X2A", "15F", "20260401")])
    with pytest.raises(OdsError, match=r"^again\.csv: the successions "):
        app.organisations.import_files([again], actor="op")
