"""The ODS use case on the in-memory fakes: an import's changes, idempotence, review items for
relationships whose organisation closed, and the staff decisions that alone change the register."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from intake_bot.domain.organisations import OdsError, OdsOrganisation, SuccessionReview
from intake_bot.domain.outgoing import FileToAttach
from intake_bot.domain.records import Event, Outbox, Relationship, RelationshipVersion
from intake_bot.ods import read_ods_file
from intake_bot.services.notify import Letterhead, Notifier
from intake_bot.services.ods import Organisations
from tests.fakes import FakeStore
from tests.fakes.outgoing import FakeComposer, FakeRenderer
from tests.ods_files import (
    as_workbook,
    bundle,
    fhir_organisation,
    icb_merger_file,
    report,
    report_row,
    sub_icb_files,
    succ_row,
    trust_file,
)
from tests.unit.test_register_service import approve

NOW = datetime(2026, 5, 1, 9, tzinfo=UTC)


class Rig:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.store = FakeStore()
        self.renderer = FakeRenderer()
        self.composer = FakeComposer()
        notifier = Notifier(
            renderer=self.renderer,
            composer=self.composer,
            letterhead=Letterhead("dsfc@nhs.net", "DSfC", "Legitimate Relationships"),
            blank_forms=lambda: tuple[FileToAttach, ...](),
        )
        self.ods = Organisations(
            store=self.store, notifier=notifier, clock=lambda: NOW, read_file=read_ods_file
        )

    def events(self, action: str) -> list[Event]:
        return [e for e in self.store.memory.all(Event) if e.action == action]

    def emails(self, kind: str = "ods_succession") -> list[Outbox]:
        return [o for o in self.store.memory.all(Outbox) if o.kind == kind]

    def versions(self, rel: Relationship) -> list[RelationshipVersion]:
        return [
            v for v in self.store.memory.all(RelationshipVersion) if v.relationship_id == rel.id
        ]


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path)


def files(rig: Rig) -> list[Path]:
    return [*sub_icb_files(rig.folder), icb_merger_file(rig.folder)]


def test_an_import_reports_what_opened_closed_and_succeeded(rig: Rig) -> None:
    report = rig.ods.import_files(files(rig), actor="op")
    changes = {(c.what, c.code) for c in report.changes}
    assert {("closed", "03G"), ("opened", "15F"), ("closed", "QJG"), ("opened", "QZE")} <= changes
    assert {("succeeded", "03G"), ("succeeded", "QJG"), ("succeeded", "QH8")} <= changes
    assert report.counts() == {"closed": 4, "opened": 4, "succeeded": 4}
    assert [f.format for f in report.files] == [
        "ODS report (CSV)",
        "successions (CSV)",
        "FHIR Organization (JSON)",
    ]
    (event,) = rig.events("ods_import")
    assert event.actor == "op" and "eccg.csv, succ.csv, icbs.json: 4 closed" in event.note


def test_importing_the_same_files_again_changes_nothing_and_says_so(rig: Rig) -> None:
    approve(rig.store, commissioner_ods="03G")
    rig.ods.import_files(files(rig), actor="op")
    before = len(rig.store.memory.all(OdsOrganisation)), len(rig.emails())
    again = rig.ods.import_files(files(rig), actor="op")
    assert again.unchanged and again.summary() == "no changes"
    assert (len(rig.store.memory.all(OdsOrganisation)), len(rig.emails())) == before
    assert len(rig.store.memory.all(SuccessionReview)) == 1
    assert [e.note.endswith("no changes") for e in rig.events("ods_import")] == [False, True]

    as_workbooks = [as_workbook(f) for f in sub_icb_files(rig.folder)]  # the "excel" download
    assert rig.ods.import_files(as_workbooks, actor="op").unchanged


def test_a_renamed_trust_is_reported_and_keeps_its_former_name(rig: Rig) -> None:
    rig.ods.import_files([trust_file(rig.folder)], actor="op")
    report = rig.ods.import_files([trust_file(rig.folder, renamed=True)], actor="op")
    assert [(c.what, c.code, c.detail) for c in report.changes] == [
        (
            "renamed",
            "RXF",
            "MID YORKSHIRE HOSPITALS NHS TRUST → MID YORKSHIRE TEACHING NHS TRUST",
        )
    ]
    (rxf,) = [o for o in rig.store.memory.all(OdsOrganisation) if o.code == "RXF"]
    assert rxf.former_names == [
        {"name": "MID YORKSHIRE HOSPITALS NHS TRUST", "until": "2026-05-01"}
    ]


def test_a_closed_commissioner_opens_a_review_and_tells_people_but_changes_no_register(
    rig: Rig,
) -> None:
    rel = approve(
        rig.store, commissioner_ods="03G", commissioner_name="NHS Leeds South and East CCG"
    )
    report = rig.ods.import_files(files(rig), actor="op")
    (item,) = report.reviews
    assert (item.reference, item.party, item.closed_code) == (rel.reference, "commissioner", "03G")
    assert item.closed_on == date(2022, 6, 30)
    assert item.successors == (("15F", "NHS WEST YORKSHIRE ICB - 15F"),)
    (email,) = rig.emails()
    assert email.recipients == ["priya.shah@nhs.net", "tom.oneill@nhs.net"]
    context = next(c for k, c in rig.renderer.rendered if k == "ods_succession")
    # ODS's whole name: shortened, "NHS WEST YORKSHIRE ICB" would be its ICB's (QWO's) name
    whole = {"code": "15F", "name": "NHS WEST YORKSHIRE ICB - 15F"}
    assert context["successors"] == [{**whole, "label": "NHS WEST YORKSHIRE ICB - 15F"}]
    assert context["closed_already"] is True
    assert len(rig.versions(rel)) == 1 and rel.status == "active" and rel.ended_on is None
    assert rel.commissioner_ods == "03G"
    assert [e.to_status for e in rig.events("ods_review")] == ["open"]
    assert [i.id for i in rig.ods.reviews()] == [item.id]


def test_carrying_over_adds_a_version_naming_the_successor_and_is_audited(rig: Rig) -> None:
    rel = approve(
        rig.store, commissioner_ods="03G", commissioner_name="NHS Leeds South and East CCG"
    )
    (item,) = rig.ods.import_files(files(rig), actor="op").reviews
    done = rig.ods.decide(item.id, "carry", actor="jo", note="agreed with the ICB")
    assert done.status == "carried" and done.decided_by == "jo"
    latest = rig.versions(rel)[-1]
    assert latest.version == 2 and latest.effective_from == date(2022, 7, 1)
    assert latest.values["commissioner_ods"] == "15F"
    assert latest.values["commissioner_name"] == "NHS WEST YORKSHIRE ICB - 15F"
    assert rel.commissioner_ods == "15F" and rel.status == "active"
    (decision,) = [e for e in rig.events("ods_review") if e.to_status == "carried"]
    assert decision.actor == "jo" and decision.from_status == "open"
    assert "carried over: commissioner 03G → 15F from 01/07/2022" in decision.note
    assert any("03G → 15F" in e.note for e in rig.events("register"))
    assert rig.ods.reviews() == []
    (told,) = rig.emails("ods_decision")
    assert told.recipients == ["priya.shah@nhs.net", "tom.oneill@nhs.net"]
    (notice,) = rig.emails("ods_succession")
    letter = rig.composer.letters[-1]  # the decision, threaded on the notice
    assert letter.in_reply_to == notice.message_id and letter.references == (notice.message_id,)
    context = next(c for k, c in rig.renderer.rendered if k == "ods_decision")
    assert context["decision"] == "carried" and context["reference"] == rel.reference
    assert context["successor"] == {
        "code": "15F",
        "name": "NHS WEST YORKSHIRE ICB - 15F",
        "label": "NHS WEST YORKSHIRE ICB - 15F",
    }
    assert context["from_date"] == "01/07/2022" and context["closed_code"] == "03G"
    assert "agreed with the ICB" not in str(context)  # staff's note stays in the audit trail
    with pytest.raises(OdsError, match="decided already"):
        rig.ods.decide(item.id, "end", actor="jo")
    assert len(rig.emails("ods_decision")) == 1


def test_ending_ends_the_relationship_the_day_after_the_icb_closed(rig: Rig) -> None:
    rel = approve(
        rig.store, commissioner_ods="QJG", commissioner_name="NHS Suffolk and NE Essex ICB"
    )
    (item,) = rig.ods.import_files(files(rig), actor="op").reviews
    assert item.successors == (("QZE", "NHS ESSEX INTEGRATED CARE BOARD"),)
    rig.ods.decide(item.id, "end", actor="jo")
    assert rel.ended_on == date(2026, 4, 1) and rel.status == "ended"
    (told,) = rig.emails("ods_decision")
    assert told.recipients == ["priya.shah@nhs.net", "tom.oneill@nhs.net"]
    context = next(c for k, c in rig.renderer.rendered if k == "ods_decision")
    assert context["decision"] == "ended" and context["reference"] == rel.reference
    assert (context["ends_on"], context["ended_already"]) == ("01/04/2026", True)
    assert "successor" not in context
    assert len(rig.versions(rel)) == 1
    (decision,) = [e for e in rig.events("ods_review") if e.to_status == "ended"]
    assert "ended: ends on 01/04/2026: its commissioner QJG closed" in decision.note
    register_event = [e for e in rig.events("register") if "QJG" in e.note][-1]
    assert (register_event.from_status, register_event.to_status) == ("active", "ended")


def test_carrying_over_needs_a_successor_when_ods_names_none(rig: Rig) -> None:
    approve(rig.store, commissioner_ods="00C")
    eccg, _succ = sub_icb_files(rig.folder)
    (item,) = rig.ods.import_files([eccg], actor="op").reviews  # no successions file
    assert item.successors == ()
    with pytest.raises(OdsError, match="name the successor with --to"):
        rig.ods.decide(item.id, "carry", actor="jo")
    with pytest.raises(OdsError, match="ZZZ is not in the ODS reports imported"):
        rig.ods.decide(item.id, "carry", actor="jo", to="ZZZ")
    assert rig.emails("ods_decision") == []  # a refused decision tells nobody
    assert rig.ods.decide(item.id, "carry", actor="jo", to="16C").status == "carried"


def test_a_bad_file_changes_nothing(rig: Rig) -> None:
    bad = rig.folder / "broken.csv"
    bad.write_text('"03G","NHS X CCG","Y63","QWO","","","","","","LS1","2013.04.01","",\n')
    with pytest.raises(OdsError, match=r"broken\.csv: line 1"):
        rig.ods.import_files([*files(rig), bad], actor="op")
    assert rig.store.memory.all(OdsOrganisation) == [] and rig.events("ods_import") == []


def test_a_name_is_shown_once_with_its_code() -> None:
    from intake_bot.domain.ods_views import organisation_label

    assert (
        organisation_label("NHS WEST YORKSHIRE ICB - 15F", "15F") == "NHS WEST YORKSHIRE ICB (15F)"
    )
    assert organisation_label("NHS Leeds CCG (03G)", "03G") == "NHS Leeds CCG (03G)"
    assert organisation_label("NHS ESSEX ICB", "QZE") == "NHS ESSEX ICB (QZE)"
    assert organisation_label("", "15F") == "15F" and organisation_label("15F", "15F") == "15F"
    assert organisation_label("A - 15FX", "15F") == "A - 15FX (15F)"


def _eccg(rig: Rig, name: str, closes: str) -> Path:
    """An eccg report in which NHS Leeds South and East CCG (03G) closes on `closes` ("": open)."""
    row = report_row("03G", "NHS LEEDS SOUTH AND EAST CCG", closed=closes)
    return report(rig.folder / name, [row, report_row("15F", "NHS WEST YORKSHIRE ICB - 15F")])


def _succ(rig: Rig) -> Path:
    return report(rig.folder / "succ.csv", [succ_row("03G", "15F", "20270401")])


def test_successors_named_after_a_review_opened_reach_it(rig: Rig) -> None:
    approve(rig.store, commissioner_ods="03G")
    (item,) = rig.ods.import_files([_eccg(rig, "eccg.csv", "20270331")], actor="op").reviews
    assert item.successors == ()
    report_ = rig.ods.import_files([_succ(rig)], actor="op")
    assert report_.reviews == ()  # the same item, not a second one
    (updated,) = rig.ods.reviews()
    assert updated.id == item.id and [c for c, _ in updated.successors] == ["15F"]
    assert any(
        c.what == "review updated" and "none named → 15F" in c.detail for c in report_.changes
    )
    assert any("successor none named → 15F" in e.note for e in rig.events("ods_review"))
    assert rig.ods.decide(item.id, "carry", actor="jo").status == "carried"


def test_a_moved_close_date_reaches_the_open_review_and_the_decision(rig: Rig) -> None:
    rel = approve(rig.store, commissioner_ods="03G")
    (item,) = rig.ods.import_files([_eccg(rig, "eccg.csv", "20270331")], actor="op").reviews
    rig.ods.import_files([_eccg(rig, "eccg2.csv", "20261231")], actor="op")
    (updated,) = rig.ods.reviews()
    assert updated.closed_on == date(2026, 12, 31)
    assert any("close date 31/03/2027 → 31/12/2026" in e.note for e in rig.events("ods_review"))
    rig.ods.decide(item.id, "end", actor="jo")
    assert rel.ended_on == date(2027, 1, 1)  # the day after the date ODS gives now


def test_a_closure_ods_withdraws_withdraws_the_review_and_changes_nothing(rig: Rig) -> None:
    rel = approve(rig.store, commissioner_ods="03G")
    (item,) = rig.ods.import_files([_eccg(rig, "eccg.csv", "20270331")], actor="op").reviews
    (notice,) = rig.emails()
    report_ = rig.ods.import_files([_eccg(rig, "eccg2.csv", "")], actor="op")
    assert ("review withdrawn", "03G") in {(c.what, c.code) for c in report_.changes}
    assert rig.ods.reviews() == []
    (withdrawn,) = rig.ods.reviews(include_decided=True)
    assert withdrawn.status == "withdrawn" and "no longer gives 03G a close date" in withdrawn.note
    with pytest.raises(OdsError, match="withdrawn"):
        rig.ods.decide(item.id, "end", actor="jo")
    assert rel.ended_on is None and rel.status == "active" and len(rig.versions(rel)) == 1
    (told,) = rig.emails("ods_decision")  # the contacts told of the closure hear it is off
    assert told.recipients == notice.recipients
    assert rig.composer.letters[-1].in_reply_to == notice.message_id
    context = next(c for k, c in rig.renderer.rendered if k == "ods_decision")
    assert context["decision"] == "withdrawn"
    (event,) = [e for e in rig.events("ods_review") if e.to_status == "withdrawn"]
    assert event.from_status == "open"

    # ODS closes it again: the same item reopens, and the contacts are told again
    (again,) = rig.ods.import_files([_eccg(rig, "eccg3.csv", "20270630")], actor="op").reviews
    assert again.id == item.id and again.status == "open"
    assert again.closed_on == date(2027, 6, 30)
    assert len(rig.emails()) == 2
    assert [e.to_status for e in rig.events("ods_review")] == ["open", "withdrawn", "open"]


def test_a_review_of_a_relationship_that_ended_meanwhile_is_withdrawn_without_email(
    rig: Rig,
) -> None:
    rel = approve(rig.store, commissioner_ods="03G")
    rig.ods.import_files([_eccg(rig, "eccg.csv", "20270331")], actor="op")
    rel.ended_on = date(2026, 4, 30)  # ended by a request, before the next import
    rig.ods.import_files([_succ(rig)], actor="op")
    (withdrawn,) = rig.ods.reviews(include_decided=True)
    assert withdrawn.status == "withdrawn" and "no longer in force" in withdrawn.note
    assert rig.emails("ods_decision") == []


def test_a_report_and_a_fhir_file_imported_in_turn_settle_without_undoing_each_other(
    rig: Rig,
) -> None:
    """The FHIR resource says nothing of 03G's parent or why its work moved; the CSV files do.
    Each keeps what the other said, so a third import of either changes nothing."""
    resource = fhir_organisation(
        "03G",
        "NHS LEEDS SOUTH AND EAST CCG",
        start="2013-04-01",
        end="2022-06-30",
        primary_role="RO98",
        role="RO98",
        successor=("15F", "2022-07-01"),
    )
    resource["address"] = [{"city": "LEEDS", "postalCode": "LS11 5BZ"}]  # as the report has
    fhir = bundle(rig.folder / "03g.json", [resource])
    csv_files = sub_icb_files(rig.folder)
    rig.ods.import_files(csv_files, actor="op")
    rig.ods.import_files([fhir], actor="op")
    (org,) = [o for o in rig.store.memory.all(OdsOrganisation) if o.code == "03G"]
    assert org.parent == "QWO"  # as the CSV report gave it
    assert rig.ods.import_files(csv_files, actor="op").unchanged
    assert rig.ods.import_files([fhir], actor="op").unchanged


def test_a_decision_on_an_item_whose_relationship_moved_on_is_refused_and_withdraws_it(
    rig: Rig,
) -> None:
    rel = approve(rig.store, commissioner_ods="03G")
    (item,) = rig.ods.import_files(files(rig), actor="op").reviews
    # A change request named the successor meanwhile, from the day after the closure.
    approve(
        rig.store,
        "change",
        existing_reference=rel.reference,
        commissioner_ods="15F",
        effective_date="2022-07-01",
    )
    with rig.store.unit() as unit:
        rel = unit.register.get(rel.id or 0) or rel
    with pytest.raises(OdsError, match="withdrawn: the relationship no longer names 03G"):
        rig.ods.decide(item.id, "end", actor="jo")
    assert rel.ended_on is None and rel.status == "active"
    (withdrawn,) = rig.ods.reviews(include_decided=True)
    assert withdrawn.status == "withdrawn"
    assert rig.emails("ods_decision") == []


def test_a_corrected_successions_file_drops_the_successor_it_no_longer_gives(rig: Rig) -> None:
    approve(rig.store, commissioner_ods="03G")
    (item,) = rig.ods.import_files([*sub_icb_files(rig.folder)], actor="op").reviews
    assert [c for c, _ in item.successors] == ["15F"]
    fixed = report(rig.folder / "succ_fixed.csv", [succ_row("03G", "16C", "20220701")])
    report_ = rig.ods.import_files([fixed], actor="op")
    assert ("succession dropped", "03G") in {(c.what, c.code) for c in report_.changes}
    (updated,) = rig.ods.reviews()
    assert [c for c, _ in updated.successors] == ["16C"]
    assert rig.ods.decide(item.id, "carry", actor="jo").status == "carried"
    assert rig.ods.import_files([fixed], actor="op").unchanged


def test_the_items_waiting_are_counted_as_each_office_sees_them(rig: Rig) -> None:
    approve(rig.store, commissioner_ods="03G", dscro="North")
    approve(rig.store, commissioner_ods="00C", dscro="South")
    rig.ods.import_files(files(rig), actor="op")
    for offices in (None, ["North"], ["south"], ["London"], ["North", "South"]):
        assert rig.ods.waiting(offices) == len(rig.ods.reviews(offices=offices)), offices
    assert rig.ods.waiting() == 2 and rig.ods.waiting(["London"]) == 0
