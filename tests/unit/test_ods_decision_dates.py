"""A decided review item says what the register records: the successor it was carried to (one
step along a chain, or its end) and the day the carry took effect, which is never before the
successor opened; the decision's email to the requester and authoriser gives that day too."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path

import pytest

from intake_bot.domain.records import Relationship
from tests.unit.test_ods_decisions import _chain
from tests.unit.test_ods_service import Rig
from tests.unit.test_register_service import approve


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path)


def _on_a_chain(rig: Rig) -> tuple[Relationship, int]:
    """03G closed 30/06/2022 into 15F, which closed 31/03/2026 into 16C, opened 01/04/2026."""
    rel = approve(rig.store, commissioner_ods="03G", commissioner_name="Leeds")
    files = _chain(rig, ("20220630", "20220701"), ("20260331", "20260401"), opens="20260401")
    (item,) = rig.ods.import_files(files, actor="op").reviews
    return rel, item.id


def _decision_email(rig: Rig) -> Mapping[str, object]:
    return next(c for k, c in rig.renderer.rendered if k == "ods_decision")


def test_a_carry_to_the_end_of_a_chain_is_told_from_the_day_the_successor_opened(
    rig: Rig,
) -> None:
    rel, item = _on_a_chain(rig)

    done = rig.ods.decide(item, "carry", actor="jo")

    carried = max(rig.versions(rel), key=lambda v: v.version)
    assert (carried.values["commissioner_ods"], carried.effective_from) == (
        "16C",
        date(2026, 4, 1),
    )
    assert _decision_email(rig)["from_date"] == "01/04/2026"  # not the day after 03G closed
    assert done.carried_to is not None and done.carried_to[0] == "16C"
    assert done.effective_on == date(2026, 4, 1)
    assert done.decision.startswith("carried over to ") and "16C" in done.decision
    assert done.decision.endswith("from 01/04/2026")


def test_a_carry_one_step_along_a_chain_is_listed_as_carried_there_not_to_the_chains_end(
    rig: Rig,
) -> None:
    _rel, item = _on_a_chain(rig)

    rig.ods.decide(item, "carry", actor="jo", to="15F")

    decided = next(i for i in rig.ods.reviews(include_decided=True) if i.id == item)
    assert decided.carried_to is not None and decided.carried_to[0] == "15F"
    assert decided.effective_on == date(2022, 7, 1)
    assert "15F" in decided.decision and "16C" not in decided.decision
    shown = decided.as_dict()
    assert shown["carried_to"] == {"code": "15F", "name": decided.carried_to[1]}
    assert shown["effective_on"] == "2022-07-01"
    assert _decision_email(rig)["from_date"] == "01/07/2022"


def test_an_end_is_listed_with_the_day_it_took_effect(rig: Rig) -> None:
    rel, item = _on_a_chain(rig)

    done = rig.ods.decide(item, "end", actor="jo")

    assert done.carried_to is None
    assert done.effective_on == rel.ended_on == date(2022, 7, 1)
    assert done.decision == "ended: not in force from 01/07/2022"


def test_an_open_item_at_the_end_of_a_chain_names_the_step_a_carry_may_take(rig: Rig) -> None:
    _rel, item = _on_a_chain(rig)
    (shown,) = rig.ods.reviews()
    assert [code for code, _ in shown.successors] == ["16C"]
    assert shown.steps == ("15F",)
    assert shown.as_dict()["steps"] == ["15F"]
    rig.ods.decide(item, "carry", actor="jo", to="15F")
    decided = next(i for i in rig.ods.reviews(include_decided=True) if i.id == item)
    assert decided.steps == ()


def test_the_review_list_says_how_to_take_the_step(rig: Rig) -> None:
    from intake_bot.cli.ods import _row

    _on_a_chain(rig)
    (shown,) = rig.ods.reviews()
    assert "(or one step: 15F, with --to)" in _row(shown)[5]
