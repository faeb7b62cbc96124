"""The review items follow the register as well as the list: a relationship that enters the
register after an import (approved, or loaded from a spreadsheet) gets its item then, a decision
withdraws the items it leaves nothing to decide on, and a change approved since a carry that
names the closed code again reopens the item. In each case importing the same files again
changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake_bot.domain.organisations import OdsError, SuccessionReview
from intake_bot.domain.records import Request
from intake_bot.domain.status import Status
from intake_bot.services.lifecycle import Requests
from intake_bot.services.register import Register
from tests.ods_files import report, report_row, sub_icb_files, succ_row
from tests.unit.test_ods_service import NOW, Rig
from tests.unit.test_register_service import OFFICES, approve, sheet, values


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path)


def _statuses(rig: Rig) -> dict[str, str]:
    return {r.closed_code: r.status for r in rig.store.memory.all(SuccessionReview)}


def _requests(rig: Rig) -> Requests:
    return Requests(store=rig.store, notifier=rig.ods.notifier, clock=lambda: NOW, targets={})


def _in_review(rig: Rig, request_type: str = "new", **changes: object) -> str:
    """A request waiting for approval, filed before any import."""
    with rig.store.unit() as unit:
        request = unit.add(
            Request(
                inbound_id=1,
                source="form.docx",
                status="in_review",
                queue="North/new",
                created_at=NOW,
                updated_at=NOW,
                request_type=request_type,
                values=values(request_type=request_type, **changes),
                requester_email="priya.shah@nhs.net",
            )
        )
        unit.flush()
        return f"LR-{request.id:06d}"


def _two_closures(rig: Rig) -> list[Path]:
    """03G closed on 30/06/2022 (successor 15F); the CSU 0AR closes on 31/03/2027 (0CX)."""
    ecsu = report(
        rig.folder / "ecsu.csv",
        [
            report_row("0AR", "NORTH OF ENGLAND COMMISSIONING SUPPORT UNIT", closed="20270331"),
            report_row("0CX", "NORTH COMMISSIONING SUPPORT UNIT", opened="20270401"),
        ],
    )
    succ = report(rig.folder / "csu-succ.csv", [succ_row("0AR", "0CX", "20270401")])
    return [*sub_icb_files(rig.folder), ecsu, succ]


def test_an_end_withdraws_the_relationships_other_item_at_once(rig: Rig) -> None:
    approve(rig.store, commissioner_ods="03G", commissioner_name="Leeds")
    files = _two_closures(rig)
    items = {i.closed_code: i.id for i in rig.ods.import_files(files, actor="op").reviews}
    rig.ods.decide(items["03G"], "end", actor="jo")  # it ends on 01/07/2022
    assert _statuses(rig) == {"03G": "ended", "0AR": "withdrawn"}
    assert rig.ods.reviews() == []  # nothing left on the console to carry or end
    again = rig.ods.import_files(files, actor="op")
    assert again.summary() == "no changes" and _statuses(rig)["0AR"] == "withdrawn"


def test_a_request_approved_after_the_import_gets_its_item_and_its_contacts_told(
    rig: Rig,
) -> None:
    files = sub_icb_files(rig.folder)
    rig.ods.import_files(files, actor="op")
    ref = _in_review(rig, commissioner_ods="03G", commissioner_name="Leeds")
    _requests(rig).change_status(ref, Status.APPROVED, actor="jo")
    (item,) = rig.ods.reviews()
    assert item.closed_code == "03G" and len(rig.emails()) == 1
    again = rig.ods.import_files(files, actor="op")
    assert again.summary() == "no changes" and len(rig.emails()) == 1


def test_a_register_loaded_after_the_import_gets_its_items(rig: Rig, tmp_path: Path) -> None:
    files = sub_icb_files(rig.folder)
    rig.ods.import_files(files, actor="op")
    register = Register(
        store=rig.store, clock=lambda: NOW, dscros=OFFICES, notifier=rig.ods.notifier
    )
    path = sheet(tmp_path, ",NHS Leeds South CCG,03G,NECS,0AR,North,SLA-2,Y,01/04/2015,,")
    assert len(register.import_file(path, dry_run=False, actor="jo").loaded) == 1
    assert [i.closed_code for i in rig.ods.reviews()] == ["03G"]
    assert rig.ods.import_files(files, actor="op").summary() == "no changes"


def test_a_change_approved_after_a_carry_that_names_the_closed_code_reopens_its_item(
    rig: Rig,
) -> None:
    rel = approve(rig.store, commissioner_ods="03G", commissioner_name="Leeds")
    # Filed before the closure was known, approved after the carry: it still names 03G.
    ref = _in_review(
        rig,
        "change",
        existing_reference=rel.reference,
        commissioner_ods="03G",
        commissioner_name="Leeds",
        effective_date="2027-01-01",
    )
    files = sub_icb_files(rig.folder)
    (item,) = rig.ods.import_files(files, actor="op").reviews
    rig.ods.decide(item.id, "carry", actor="jo")
    assert _statuses(rig) == {"03G": "carried"}
    told = len(rig.emails())
    _requests(rig).change_status(ref, Status.APPROVED, actor="jo")
    (reopened,) = rig.ods.reviews()
    assert (reopened.id, reopened.closed_code) == (item.id, "03G")  # the same item, open again
    assert len(rig.emails()) == told + 1  # the contacts are told again
    assert "no longer follows its decision (carried)" in rig.events("ods_review")[-1].note
    assert rig.ods.import_files(files, actor="op").summary() == "no changes"


def test_a_carry_the_register_still_follows_is_not_reopened(rig: Rig) -> None:
    rel = approve(rig.store, commissioner_ods="03G", commissioner_name="Leeds")
    files = sub_icb_files(rig.folder)
    (item,) = rig.ods.import_files(files, actor="op").reviews
    rig.ods.decide(item.id, "carry", actor="jo")
    # A later change naming the successor, and one approved for another request, leave it be.
    ref = _in_review(
        rig,
        "change",
        existing_reference=rel.reference,
        commissioner_ods="15F",
        commissioner_name="NHS West Yorkshire ICB - 15F",
        effective_date="2027-01-01",
    )
    _requests(rig).change_status(ref, Status.APPROVED, actor="jo")
    assert _statuses(rig) == {"03G": "carried"} and rig.ods.reviews() == []


def test_an_item_whose_contacts_have_no_address_says_nobody_was_emailed(rig: Rig) -> None:
    from intake_bot.cli.ods import _row

    approve(
        rig.store,
        commissioner_ods="03G",
        commissioner_name="Leeds",
        requester_email="",
        authoriser_email="",
    )
    (item,) = rig.ods.import_files(sub_icb_files(rig.folder), actor="op").reviews
    assert rig.emails() == [] and item.contacts_told is False
    assert rig.events("ods_review")[-1].note.endswith("nobody emailed")
    assert _row(item)[-1] == "open; contacts not emailed (no address)"
    decided = rig.ods.decide(item.id, "end", actor="jo", note="agreed with the ICB")
    assert _row(decided)[-1] == "ended by jo on 01/05/2026: agreed with the ICB"


def test_a_change_dated_after_the_closure_leaves_the_items_open(rig: Rig) -> None:
    # The terms in force until the change names the closed CCG (and the closing CSU) after
    # their closures: the items stand, and the change's own terms come after a carry.
    rel = approve(rig.store, commissioner_ods="03G", commissioner_name="Leeds")
    files = _two_closures(rig)
    items = {i.closed_code: i.id for i in rig.ods.import_files(files, actor="op").reviews}
    ref = _in_review(
        rig,
        "change",
        existing_reference=rel.reference,
        commissioner_ods="15F",
        commissioner_name="NHS West Yorkshire ICB - 15F",
        processor_ods="0CX",
        processor_name="North CSU",
        effective_date="2027-06-01",
    )
    _requests(rig).change_status(ref, Status.APPROVED, actor="jo")
    assert _statuses(rig) == {"03G": "open", "0AR": "open"}
    rig.ods.decide(items["03G"], "carry", actor="jo")
    assert rig.ods.import_files(files, actor="op").summary() == "no changes"
    assert _statuses(rig) == {"03G": "carried", "0AR": "open"}


def test_a_reopened_item_stands_while_the_closed_code_is_still_named_after_a_later_change(
    rig: Rig,
) -> None:
    rel = approve(rig.store, commissioner_ods="03G", commissioner_name="Leeds")
    files = sub_icb_files(rig.folder)
    (item,) = rig.ods.import_files(files, actor="op").reviews
    rig.ods.decide(item.id, "carry", actor="jo")
    for day, code in (("2027-01-01", "03G"), ("2027-03-01", "15F")):
        ref = _in_review(
            rig,
            "change",
            existing_reference=rel.reference,
            commissioner_ods=code,
            commissioner_name="Leeds",
            effective_date=day,
        )
        _requests(rig).change_status(ref, Status.APPROVED, actor="jo")
    # 03G is named from 01/01 to 28/02/2027: the reopened item is not withdrawn.
    assert _statuses(rig) == {"03G": "open"}
    assert rig.ods.import_files(files, actor="op").summary() == "no changes"


def test_an_ended_item_whose_closure_ods_moved_earlier_is_a_decision_to_check_not_reopened(
    rig: Rig,
) -> None:
    approve(rig.store, commissioner_ods="15F", commissioner_name="Leeds", processor_ods="0AR")
    closing = [report_row("0AR", "NORTH OF ENGLAND CSU", closed="20270331")]
    (item,) = rig.ods.import_files([report(rig.folder / "a.csv", closing)], actor="op").reviews
    rig.ods.decide(item.id, "end", actor="jo")  # ends on 01/04/2027
    earlier = [report_row("0AR", "NORTH OF ENGLAND CSU", closed="20270131")]
    told = len(rig.emails())
    moved = rig.ods.import_files([report(rig.folder / "b.csv", earlier)], actor="op")
    assert _statuses(rig) == {"0AR": "ended"} and len(rig.emails()) == told
    assert "decision to check" in {c.what for c in moved.changes}
    # ODS goes back to the date decided on: the note says so, once, and nothing else changes
    back = rig.ods.import_files([report(rig.folder / "c.csv", closing)], actor="op")
    assert {c.what for c in back.changes} >= {"decision agrees with ODS again"}
    (decided,) = rig.store.memory.all(SuccessionReview)
    assert decided.note.endswith(
        "ODS now gives 0AR a close date of 31/01/2027; "
        "ODS again gives 0AR the close date of 31/03/2027"
    )
    assert rig.ods.import_files([report(rig.folder / "d.csv", closing)], actor="op").unchanged
    assert _statuses(rig) == {"0AR": "ended"} and len(rig.emails()) == told


def test_an_item_a_moved_closure_leaves_nothing_to_decide_is_withdrawn_by_that_import(
    rig: Rig,
) -> None:
    # 03G closes on 30/06/2026; a change names 15F from 01/09/2026. ODS then moves the
    # closure to 31/12/2026: from 01/01/2027 the terms name 15F already.
    rel = approve(rig.store, commissioner_ods="03G", commissioner_name="Leeds")
    first = [report_row("03G", "NHS LEEDS SOUTH AND EAST CCG", closed="20260630")]
    (_item,) = rig.ods.import_files([report(rig.folder / "a.csv", first)], actor="op").reviews
    approve(
        rig.store,
        "change",
        existing_reference=rel.reference,
        commissioner_ods="15F",
        effective_date="2026-09-01",
    )
    told = len(rig.emails())
    later = report(rig.folder / "b.csv", [report_row("03G", "NHS LEEDS SOUTH AND EAST CCG",
                                                     closed="20261231")])  # fmt: skip
    moved = rig.ods.import_files([later], actor="op")
    assert ("review withdrawn", "03G") in {(c.what, c.code) for c in moved.changes}
    assert _statuses(rig) == {"03G": "withdrawn"} and len(rig.emails()) == told
    assert rig.ods.import_files([later], actor="op").summary() == "no changes"


def test_a_decision_opens_the_items_an_approval_left_while_the_list_was_busy(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fakes.ods import FakeOrganisations

    first = approve(rig.store, commissioner_ods="03G", commissioner_name="Leeds")
    (item,) = rig.ods.import_files(sub_icb_files(rig.folder), actor="op").reviews
    ref = _in_review(rig, commissioner_ods="03G", commissioner_name="Leeds North")

    def busy(self: object, wait_ms: int | None = None) -> None:
        raise OdsError("another ODS import or decision held the organisation list")

    with monkeypatch.context() as patch:
        patch.setattr(FakeOrganisations, "lock_list", busy)
        _requests(rig).change_status(ref, Status.APPROVED, actor="jo")  # it stands
    assert [i.reference for i in rig.ods.reviews()] == [first.reference]
    rig.ods.decide(item.id, "carry", actor="jo")  # another relationship's decision
    assert [i.reference for i in rig.ods.reviews()] == ["LCR-000002"]


def test_an_item_on_a_relationship_set_to_end_first_is_withdrawn_saying_so(rig: Rig) -> None:
    rel = approve(rig.store, commissioner_ods="03G", commissioner_name="Leeds")
    files = _two_closures(rig)
    rig.ods.import_files(files, actor="op")
    # approved to end on 31/12/2026, before 0AR's closure takes effect on 01/04/2027
    approve(rig.store, "end", existing_reference=rel.reference, effective_date="2026-12-31")
    rig.ods.import_files(files, actor="op")
    (withdrawn,) = [r for r in rig.ods.reviews(include_decided=True) if r.closed_code == "0AR"]
    assert withdrawn.status == "withdrawn"
    assert withdrawn.note == (
        "the relationship ends on 31/12/2026, no later than 0AR's closure takes effect"
    )
