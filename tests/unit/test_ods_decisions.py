"""ODS decisions and imports at their edges, on the in-memory fakes: what a carry may name and
from when, a code ODS names only in its successions file, a closure ODS withdrew taking its
successions with it, and CSV and FHIR imported in one command settling as in two."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from intake_bot.domain.ods_views import ReviewItem
from intake_bot.domain.organisations import (
    OdsError,
    OdsOrganisation,
    OrganisationIndex,
    Succession,
)
from intake_bot.domain.records import Relationship
from intake_bot.ods import read_ods_file
from tests.ods_files import (
    bundle,
    fhir_organisation,
    report,
    report_row,
    sub_icb_files,
    succ_row,
    trust_file,
)
from tests.unit.test_ods_service import Rig
from tests.unit.test_register_service import approve


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path)


def _on_03g(rig: Rig, **changes: str) -> tuple[Relationship, int]:
    """A relationship whose commissioner is 03G, the 2022 files imported: it and its item."""
    rel = approve(rig.store, commissioner_ods="03G", commissioner_name="Leeds", **changes)
    (item,) = rig.ods.import_files(sub_icb_files(rig.folder), actor="op").reviews
    return rel, item.id


def _on_03g_with_report(rig: Rig, row: str) -> tuple[Relationship, ReviewItem]:
    """A relationship on 03G, then one report row and succ.csv's 03G → 15F imported."""
    rel = approve(rig.store, commissioner_ods="03G", commissioner_name="Leeds")
    eccg = report(rig.folder / "eccg.csv", [row])
    succ = report(rig.folder / "succ.csv", [succ_row("03G", "15F", "20220701")])
    (item,) = rig.ods.import_files([eccg, succ], actor="op").reviews
    return rel, item


@pytest.mark.parametrize(
    ("to", "why"),
    [
        ("03G", "03G is the organisation that closed"),
        ("16C", "16C is not a successor ODS names for 03G \\(15F\\)"),
        ("RR8", "RR8 is not a successor ODS names for 03G"),
    ],
)
def test_a_carry_names_the_successor_ods_names(rig: Rig, to: str, why: str) -> None:
    rel, item = _on_03g(rig)
    trust_file(rig.folder)
    rig.ods.import_files([rig.folder / "etr.csv"], actor="op")
    with pytest.raises(OdsError, match=why):
        rig.ods.decide(item, "carry", actor="jo", to=to)
    assert len(rig.versions(rel)) == 1 and rig.emails("ods_decision") == []
    assert rig.ods.decide(item, "carry", actor="jo").status == "carried"  # to 15F


@pytest.mark.parametrize(
    ("to", "why"),
    [
        ("00C", r"00C \(NHS DARLINGTON CCG\) closed on 30/06/2022, before 01/07/2022"),
        ("RR8", r"RR8 \(LEEDS TEACHING HOSPITALS NHS TRUST\) is a trust, not a commissioner"),
    ],
)
def test_with_no_successor_named_staff_may_not_name_a_closed_one_or_a_trust(
    rig: Rig, to: str, why: str
) -> None:
    rel = approve(rig.store, commissioner_ods="03G", commissioner_name="Leeds")
    eccg, _succ = sub_icb_files(rig.folder)
    (item,) = rig.ods.import_files([eccg, trust_file(rig.folder)], actor="op").reviews
    with pytest.raises(OdsError, match=why):
        rig.ods.decide(item.id, "carry", actor="jo", to=to)
    assert len(rig.versions(rel)) == 1
    assert rig.ods.decide(item.id, "carry", actor="jo", to="16C").status == "carried"


def test_a_carry_to_a_successor_no_report_names_is_refused_not_given_the_old_name(
    rig: Rig,
) -> None:
    rel, item = _on_03g_with_report(
        rig, report_row("03G", "NHS LEEDS SOUTH AND EAST CCG", closed="20220630")
    )
    with pytest.raises(OdsError, match="15F is not in the ODS reports imported"):
        rig.ods.decide(item.id, "carry", actor="jo")
    assert len(rig.versions(rel)) == 1


def test_a_carry_never_takes_effect_before_the_version_in_force_began(rig: Rig) -> None:
    # set up in 2024 on a code closed in 2022: carried from its own start, not from 2022
    rel, item = _on_03g(rig, effective_date="2024-01-01")
    rig.ods.decide(item, "carry", actor="jo")
    carried = max(rig.versions(rel), key=lambda v: v.version)
    assert carried.effective_from == date(2024, 1, 1)
    assert carried.values["commissioner_ods"] == "15F"


def test_an_end_never_falls_before_the_version_in_force_began(rig: Rig) -> None:
    rel, item = _on_03g(rig, effective_date="2024-01-01")
    rig.ods.decide(item, "end", actor="jo")
    assert rel.ended_on == date(2024, 1, 1)


def test_a_code_named_only_in_the_successions_file_is_closed_with_its_successor(
    rig: Rig,
) -> None:
    # eccg.csv drops CCGs some years after they close; succ.csv still says where they went
    rel, item = _on_03g_with_report(
        rig, report_row("15F", "NHS WEST YORKSHIRE ICB - 15F", opened="20220701")
    )
    assert (item.closed_code, item.closed_on, item.successors) == (
        "03G",
        date(2022, 6, 30),
        (("15F", "NHS WEST YORKSHIRE ICB - 15F"),),
    )
    rig.ods.decide(item.id, "carry", actor="jo")
    carried = max(rig.versions(rel), key=lambda v: v.version)
    assert carried.values["commissioner_name"] == "NHS WEST YORKSHIRE ICB - 15F"


def test_a_closure_ods_withdrew_takes_its_successions_with_it(rig: Rig) -> None:
    future = report(
        rig.folder / "eccg.csv",
        [
            report_row("15F", "NHS WEST YORKSHIRE ICB - 15F", closed="20270331"),
            report_row("QZZ", "NHS NEW ICB", opened="20270401"),
        ],
    )
    succ = report(rig.folder / "succ.csv", [succ_row("15F", "QZZ", "20270401")])
    rig.ods.import_files([future, succ], actor="op")
    reopened = report(
        rig.folder / "eccg2.csv",
        [
            report_row("15F", "NHS WEST YORKSHIRE ICB - 15F"),
            report_row("QZZ", "NHS NEW ICB", opened="20270401"),
        ],
    )
    changes = rig.ods.import_files([reopened], actor="op").changes
    assert ("succession dropped", "15F") in {(c.what, c.code) for c in changes}
    with rig.store.unit() as unit:
        assert unit.organisations.successions() == []
    # the same files again: nothing more to drop
    assert rig.ods.import_files([reopened], actor="op").changes == ()


def test_csv_and_fhir_in_one_import_keep_what_each_says_as_in_two(rig: Rig) -> None:
    csv = report(
        rig.folder / "eccg.csv",
        [report_row("15F", "NHS WEST YORKSHIRE ICB - 15F", opened="20220701", parent="QWO")],
    )
    fhir = bundle(  # FHIR gives roles, seldom a parent, and no succession reason
        rig.folder / "orgs.json",
        [
            fhir_organisation("15F", "NHS WEST YORKSHIRE ICB - 15F", start="2022-07-01"),
            fhir_organisation(
                "03G",
                "NHS LEEDS SOUTH AND EAST CCG",
                start="2013-04-01",
                end="2022-06-30",
                successor=("15F", "2022-07-01"),
            ),
        ],
    )
    succ_csv = report(rig.folder / "succ.csv", [succ_row("03G", "15F", "20220701", "Merger")])
    rig.ods.import_files([csv, succ_csv, fhir], actor="op")
    with rig.store.unit() as unit:
        (org,) = [o for o in unit.organisations.all() if o.code == "15F"]
        (succession,) = unit.organisations.successions()
    assert org.parent == "QWO" and org.role  # the CSV's parent, FHIR's role
    assert succession.reason == "Merger"
    assert isinstance(org, OdsOrganisation) and isinstance(succession, Succession)


def _chain(rig: Rig, first: tuple[str, str], second: tuple[str, str], *, opens: str) -> list[Path]:
    """03G closes and hands on to 15F, which closes and hands on to 16C: (closed, succession
    effective) for each; `opens`: when 16C opened."""
    eccg = report(
        rig.folder / "eccg.csv",
        [
            report_row("03G", "NHS LEEDS SOUTH AND EAST CCG", closed=first[0]),
            report_row("15F", "NHS WEST YORKSHIRE ICB - 15F", opened="20220701", closed=second[0]),
            report_row("16C", "NHS NEW ICB - 16C", opened=opens),
        ],
    )
    rows = [succ_row("03G", "15F", first[1]), succ_row("15F", "16C", second[1])]
    return [eccg, report(rig.folder / "succ.csv", rows)]


def test_a_closure_handing_on_the_same_day_carries_to_the_end_of_the_chain(rig: Rig) -> None:
    # 03G and 15F both close on 31/03/2027; 15F's work goes to 16C: the item names 16C, and so
    # does the carry (not a dead end between "15F has closed" and "16C is no successor")
    rel = approve(rig.store, commissioner_ods="03G", commissioner_name="Leeds")
    files = _chain(rig, ("20270331", "20270401"), ("20270331", "20270401"), opens="20220701")
    (item,) = rig.ods.import_files(files, actor="op").reviews
    assert [code for code, _ in item.successors] == ["16C"]
    assert rig.ods.decide(item.id, "carry", actor="jo").status == "carried"
    carried = max(rig.versions(rel), key=lambda v: v.version)
    assert (carried.values["commissioner_ods"], carried.effective_from) == ("16C", date(2027, 4, 1))


def test_a_carry_never_names_an_organisation_before_it_opened(rig: Rig) -> None:
    rel = approve(rig.store, commissioner_ods="03G", commissioner_name="Leeds")
    eccg = report(
        rig.folder / "eccg.csv",
        [
            report_row("03G", "NHS LEEDS SOUTH AND EAST CCG", closed="20220630"),
            report_row("99X", "NHS FUTURE ICB - 99X", opened="20300101"),
        ],
    )
    (item,) = rig.ods.import_files([eccg], actor="op").reviews
    rig.ods.decide(item.id, "carry", actor="jo", to="99X")
    carried = max(rig.versions(rel), key=lambda v: v.version)
    assert carried.effective_from == date(2030, 1, 1)


def test_a_carry_keeps_the_type_answer_fitting_the_successor(rig: Rig) -> None:
    # The CSU processing for 03G closes and its work goes to an ICB: "CSU" no longer fits the
    # processor (the form offers CSU or Other); "CCG" still fits the commissioner's sub-ICB.
    rel = approve(rig.store, commissioner_ods="03G", commissioner_name="Leeds")
    ecsu = report(
        rig.folder / "ecsu.csv",
        [report_row("0AR", "NORTH OF ENGLAND COMMISSIONING SUPPORT UNIT", closed="20250331")],
    )
    icb = report(rig.folder / "icb.csv", [report_row("QWO", "NHS WEST YORKSHIRE ICB")])
    succ = report(rig.folder / "succ.csv", [succ_row("0AR", "QWO", "20250401")])
    (item,) = rig.ods.import_files([ecsu, icb, succ], actor="op").reviews
    assert item.party == "processor"
    rig.ods.decide(item.id, "carry", actor="jo")
    (commissioner,) = rig.ods.import_files(sub_icb_files(rig.folder), actor="op").reviews
    rig.ods.decide(commissioner.id, "carry", actor="jo")
    carried = max(rig.versions(rel), key=lambda v: v.version).values
    assert (carried["processor_ods"], carried["processor_type"]) == ("QWO", "Other")
    assert (carried["commissioner_ods"], carried["commissioner_type"]) == ("15F", "CCG")


def test_a_carry_to_a_successor_that_closes_too_opens_its_item_at_once(rig: Rig) -> None:
    # 03G closed in 2022 (successor 15F); 15F closes on 31/03/2027 into 16C. Carried to 15F,
    # the relationship needs a decision on 15F's closure: the item opens with the carry, not
    # at some later import (which then said "no changes" and opened it).
    rel = approve(rig.store, commissioner_ods="03G", commissioner_name="Leeds")
    files = _chain(rig, ("20220630", "20220701"), ("20270331", "20270401"), opens="20270401")
    (item,) = rig.ods.import_files(files, actor="op").reviews
    rig.ods.decide(item.id, "carry", actor="jo", to="15F")
    (next_item,) = rig.ods.reviews()
    assert (next_item.reference, next_item.closed_code) == (rel.reference, "15F")
    assert [code for code, _ in next_item.successors] == ["16C"]
    again = rig.ods.import_files(files, actor="op")
    assert again.unchanged and again.summary() == "no changes"


def _two_closures(rig: Rig) -> tuple[Relationship, dict[str, int]]:
    """A relationship on 03G (closed 30/06/2022, successor 15F) processed by the CSU 0AR,
    which closes on 31/03/2027 (successor 0CX): an item for each."""
    rel = approve(rig.store, commissioner_ods="03G", commissioner_name="Leeds")
    ecsu = report(
        rig.folder / "ecsu.csv",
        [
            report_row("0AR", "NORTH OF ENGLAND COMMISSIONING SUPPORT UNIT", closed="20270331"),
            report_row("0CX", "NORTH COMMISSIONING SUPPORT UNIT", opened="20270401"),
        ],
    )
    succ = report(rig.folder / "csu-succ.csv", [succ_row("0AR", "0CX", "20270401")])
    files = [*sub_icb_files(rig.folder), ecsu, succ]
    items = rig.ods.import_files(files, actor="op").reviews
    return rel, {item.closed_code: item.id for item in items}


def _on(rig: Rig, rel: Relationship, day: date) -> tuple[object, object]:
    from intake_bot.domain.register_view import in_force

    version = in_force(rig.versions(rel), day)
    assert version is not None
    return version.values["commissioner_ods"], version.values["processor_ods"]


@pytest.mark.parametrize("order", [("03G", "0AR"), ("0AR", "03G")])
def test_two_carries_give_the_same_history_whichever_is_decided_first(
    rig: Rig, order: tuple[str, str]
) -> None:
    rel, items = _two_closures(rig)
    decided = {code: rig.ods.decide(items[code], "carry", actor="jo") for code in order}
    assert decided["03G"].changes_on == date(2022, 7, 1)  # not 2027, when 0AR's carry begins
    assert decided["0AR"].changes_on == date(2027, 4, 1)
    assert _on(rig, rel, date(2022, 6, 30)) == ("03G", "0AR")
    assert _on(rig, rel, date(2022, 7, 1)) == ("15F", "0AR")
    assert _on(rig, rel, date(2027, 3, 31)) == ("15F", "0AR")
    assert _on(rig, rel, date(2027, 4, 1)) == ("15F", "0CX")


def test_an_end_after_a_carry_dated_later_ends_on_the_day_after_the_closure(rig: Rig) -> None:
    rel, items = _two_closures(rig)
    rig.ods.decide(items["0AR"], "carry", actor="jo")
    ended = rig.ods.decide(items["03G"], "end", actor="jo")
    assert ended.changes_on == date(2022, 7, 1)
    with rig.store.unit() as unit:
        assert unit.register.get(rel.id or 0).ended_on == date(2022, 7, 1)  # type: ignore[union-attr]


def test_a_name_fhir_writes_in_mixed_case_is_no_rename_and_imports_in_turn_settle(
    rig: Rig,
) -> None:
    csv = report(
        rig.folder / "eccg.csv",
        [
            report_row(
                "15F",
                "NHS WEST YORKSHIRE ICB - 15F",
                opened="20220701",
                parent="QWO",
                postcode="LS11 9AR",
            )
        ],
    )
    fhir = bundle(  # the same facts, the name in mixed case
        rig.folder / "orgs.json",
        [
            fhir_organisation(
                "15F", "NHS West Yorkshire ICB - 15F", start="2022-07-01", role="RO319"
            )
        ],
    )
    rig.ods.import_files([csv], actor="op")
    first_fhir = rig.ods.import_files([fhir], actor="op")
    assert "renamed" not in first_fhir.counts()
    assert rig.ods.import_files([csv], actor="op").unchanged
    assert rig.ods.import_files([fhir], actor="op").unchanged
    with rig.store.unit() as unit:
        (org,) = [o for o in unit.organisations.all() if o.code == "15F"]
    assert org.former_names == [] and org.name == "NHS WEST YORKSHIRE ICB - 15F"


def test_a_bundle_of_todays_icbs_names_the_old_ones_through_their_predecessor_links(
    rig: Rig,
) -> None:
    # The 2026 mergers as a search for today's ICBs returns them: only the new records, each
    # naming the ICBs it took over; the old codes are closed with their successor.
    fhir = bundle(
        rig.folder / "icbs.json",
        [
            fhir_organisation(
                "QZE",
                "NHS ESSEX INTEGRATED CARE BOARD",
                start="2026-04-01",
                predecessor=("QJG", "2026-04-01"),
            )
        ],
    )
    assert [(s.old_code, s.new_code, s.effective_on) for s in read_ods_file(fhir).successions] == [
        ("QJG", "QZE", date(2026, 4, 1))
    ]
    rig.ods.import_files([fhir], actor="op")
    with rig.store.unit() as unit:
        index = OrganisationIndex((), unit.organisations.all(), unit.organisations.successions())
    assert index.records["QJG"].closed_on == date(2026, 3, 31)
    assert index.current_successors("QJG", date(2026, 12, 1)) == ["QZE"]


def test_a_chain_may_be_carried_one_step_at_a_time_so_the_register_names_each_in_its_time(
    rig: Rig,
) -> None:
    # 03G → 15F from 01/07/2022, 15F → 16C from 01/04/2026: the item names the end of the
    # chain (16C), and staff may instead carry to 15F, whose own item then carries on to 16C.
    rel = approve(rig.store, commissioner_ods="03G", commissioner_name="Leeds")
    files = _chain(rig, ("20220630", "20220701"), ("20260331", "20260401"), opens="20260401")
    (item,) = rig.ods.import_files(files, actor="op").reviews
    assert [code for code, _ in item.successors] == ["16C"]
    with pytest.raises(OdsError, match="not a successor ODS names for 03G \\(16C or 15F\\)"):
        rig.ods.decide(item.id, "carry", actor="jo", to="00C")
    rig.ods.decide(item.id, "carry", actor="jo", to="15F")
    (next_item,) = rig.ods.reviews()  # 15F closed too: its item opened at once
    assert next_item.closed_code == "15F"
    rig.ods.decide(next_item.id, "carry", actor="jo")
    assert _on(rig, rel, date(2022, 6, 30))[0] == "03G"
    assert _on(rig, rel, date(2022, 7, 1))[0] == "15F"
    assert _on(rig, rel, date(2026, 4, 1))[0] == "16C"
    assert rig.ods.import_files(files, actor="op").summary() == "no changes"


def test_a_successors_own_record_adds_to_the_old_codes_successors_and_replaces_none(
    rig: Rig,
) -> None:
    """A search for today's organisations returns only the new records, each naming its own
    predecessor: 36J's says nothing about 0ZX's other successor, 42D, which stays; importing
    the successions file and the bundle in turn settles ("no changes"), with nobody emailed a
    changed successor. The old code's own record, naming its successors, is still the whole
    list."""
    from tests.ods_files import split_files

    approve(rig.store, commissioner_ods="0ZX", commissioner_name="Craven")
    files = split_files(rig.folder)
    (item,) = rig.ods.import_files(files, actor="op").reviews
    assert sorted(c for c, _ in item.successors) == ["36J", "42D"]
    new_record = fhir_organisation(
        "36J", "NHS WEST YORKSHIRE ICB - 36J", start="2022-07-01", predecessor=("0ZX", "2022-07-01")
    )
    fhir = bundle(rig.folder / "today.json", [new_record])
    changes = rig.ods.import_files([fhir], actor="op").changes
    assert "succession dropped" not in {c.what for c in changes}, changes
    (same,) = rig.ods.reviews()
    assert sorted(c for c, _ in same.successors) == ["36J", "42D"]
    for _ in range(2):
        assert rig.ods.import_files([files[1]], actor="op").unchanged
        assert rig.ods.import_files([fhir], actor="op").unchanged
    assert len(rig.emails("ods_succession")) == 1  # the item's opening notice only
    old_record = fhir_organisation(
        "0ZX",
        "NHS CRAVEN AND HARROGATE CCG",
        start="2013-04-01",
        end="2022-06-30",
        successor=("36J", "2022-07-01"),
    )
    report = rig.ods.import_files([bundle(rig.folder / "old.json", [old_record])], actor="op")
    assert [(c.what, c.code) for c in report.changes if c.what == "succession dropped"] == [
        ("succession dropped", "0ZX")
    ]
