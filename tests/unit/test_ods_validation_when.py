"""Validation with an ODS list, judged on the day a request takes effect; an end request that
names the register's closed party; names that drop a word that tells organisations apart; and
organisations of no kind the form offers."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from intake_bot.domain.organisations import (
    OdsOrganisation,
    OrganisationIndex,
    OrgKind,
    Succession,
)
from intake_bot.domain.rawform import RawForm
from intake_bot.domain.records import Relationship
from intake_bot.domain.validation import ValidationContext
from intake_bot.services.filing import CheckRules, check
from tests.unit.test_ods_validation import (
    CONFIG_ONLY,
    CTX,
    FORM,
    RECORDS,
    SUCCESSIONS,
    flags,
    messages,
)
from tests.unit.test_ods_validation import check as check_form

MARCH = ValidationContext(
    today=date(2026, 3, 10), dscros=("North", "South"), known_ods=CTX.known_ods
)
QJG = {"commissioner_ods": "QJG", "commissioner_name": "NHS Suffolk and North East Essex ICB"}
QZE = {"commissioner_ods": "QZE", "commissioner_name": "NHS Essex ICB"}
END = {
    "request_type": "End a relationship",
    "existing_reference": "LCR-000001",
    "change_description": "The ICB closed.",
}


def _with(*extra: OdsOrganisation) -> ValidationContext:
    """MARCH's list with `extra` added, or put in place of the records of the same code."""
    codes = {org.code for org in extra}
    records = [*(r for r in RECORDS if r.code not in codes), *extra]
    return replace(MARCH, known_ods=OrganisationIndex(CONFIG_ONLY, records, SUCCESSIONS))


def test_a_relationship_from_the_day_after_a_closure_cannot_name_the_closed_icb() -> None:
    result = check_form(MARCH, effective_date="01/04/2026", **QJG)
    (problem,) = messages(result)
    assert "QJG closes on 31/03/2026" in problem and "its successor is QZE" in problem
    assert "01/04/2026" in problem
    # before the closure takes effect it is only flagged, as a closure published ahead is
    early = check_form(MARCH, effective_date="15/03/2026", **QJG)
    assert messages(early) == [] and any("QJG closes on 31/03/2026" in f for f in flags(early))


def test_a_successor_open_on_the_day_the_request_takes_effect_is_not_flagged() -> None:
    qze = replace(next(r for r in RECORDS if r.code == "QZE"), opened_on=date(2026, 4, 1))
    ctx = _with(qze)
    on_time = check_form(ctx, effective_date="01/04/2026", **QZE)
    assert messages(on_time) == [] and not any("QZE opens" in f for f in flags(on_time))
    early = check_form(ctx, effective_date="20/03/2026", **QZE)
    assert any(
        f.endswith("QZE opens on 01/04/2026, after the request takes effect (20/03/2026).")
        for f in flags(early)
    )


def test_an_end_request_may_name_the_closed_party_the_register_holds() -> None:
    after = replace(MARCH, today=date(2026, 6, 1))
    result = check_form(after, effective_date="01/06/2026", **END, **QJG)
    assert not any("QJG" in m for m in messages(result))
    assert any("QJG closed on 31/03/2026; its successor is QZE" in f for f in flags(result))
    # ended before the closure takes effect: it closes, it has not closed
    early = check_form(MARCH, effective_date="20/03/2026", **END, **QJG)
    assert any("QJG closes on 31/03/2026" in f for f in flags(early))
    # a new relationship naming it is still refused
    assert any("QJG closed on 31/03/2026" in m for m in messages(check_form(after, **QJG)))


class _Register:
    def __init__(self, relationship: Relationship) -> None:
        self.relationship = relationship

    def by_reference(self, reference: str) -> Relationship | None:
        return self.relationship if reference == self.relationship.reference else None

    def contacts_for(self, relationship: Relationship) -> set[str]:
        return set()


def test_an_end_naming_other_parties_than_the_registers_is_flagged_for_staff() -> None:
    now = datetime(2016, 1, 1)
    held = Relationship("LCR-000001", now, now, commissioner_ods="QJG", processor_ods="0DE")
    after = replace(MARCH, today=date(2026, 6, 1))
    form = RawForm("end.docx", {**FORM, **END, **QZE, "effective_date": "01/06/2026"})
    checked = check(form, None, CheckRules(after), _Register(held))
    said = [f.message for f in checked.validation.flags]
    assert any(
        "the form names QZE; LCR-000001 names QJG (ODS gives QZE as QJG's successor)." in m
        for m in said
    )
    # a successor further along a chain, or a predecessor, is named as such
    chain = replace(
        after,
        known_ods=OrganisationIndex(
            CONFIG_ONLY, RECORDS, [*SUCCESSIONS, Succession("QZE", "16C", date(2026, 5, 1))]
        ),
    )
    sixteen = RawForm("end.docx", {**FORM, **END, "effective_date": "01/06/2026"})
    said = [
        f.message for f in check(sixteen, None, CheckRules(chain), _Register(held)).validation.flags
    ]
    assert any(
        "the form names 16C; LCR-000001 names QJG (ODS gives 16C as QJG's successor)." in m
        for m in said
    )
    carried = Relationship("LCR-000001", now, now, commissioner_ods="QZE ")
    said = [
        f.message
        for f in check(form_qjg(), None, CheckRules(after), _Register(carried)).validation.flags
    ]
    assert any(
        "the form names QJG; LCR-000001 names QZE (ODS gives QZE as QJG's successor)." in m
        for m in said
    )
    said = [
        f.message
        for f in check(form_qjg(), None, CheckRules(after), _Register(held)).validation.flags
    ]
    assert not any("LCR-000001 names" in m for m in said)


def form_qjg() -> RawForm:
    return RawForm("end.docx", {**FORM, **END, **QJG, "effective_date": "01/06/2026"})


def test_a_name_that_drops_a_word_telling_organisations_apart_is_flagged() -> None:
    north = OdsOrganisation("02V", "NHS LEEDS NORTH CCG", OrgKind.CCG.value)
    ctx = _with(north)
    dropped = check_form(ctx, commissioner_ods="02V", commissioner_name="NHS Leeds CCG")
    assert any('"NHS Leeds CCG" does not match the name ODS gives 02V' in f for f in flags(dropped))
    # the words that tell nothing apart may still be left out
    csu = check_form(ctx, processor_name="NHS North of England Commissioning Support")
    assert flags(csu) == []
    sub_icb = check_form(ctx, commissioner_name="NHS North East and North Cumbria ICB")
    assert flags(sub_icb) == []
    # the words in ODS's order, as many as it has: not a jumble of them
    jumbled = check_form(ctx, commissioner_name="Cumbria North East and North ICB 16C")
    assert len(flags(jumbled)) == 1


def test_the_ways_people_shorten_names_are_not_flagged() -> None:
    from intake_bot.domain.organisation_names import same_name

    for given, name in (
        ("Leeds Teaching Hospitals", "LEEDS TEACHING HOSPITALS NHS TRUST"),
        ("University Hospitals Leicester NHS Trust", "UNIVERSITY HOSPITALS OF LEICESTER NHS TRUST"),
        ("NHS North East and Yorkshire", "NHS ENGLAND NORTH EAST AND YORKSHIRE"),
        ("NHS West Yorkshire Integrated Care", "NHS WEST YORKSHIRE INTEGRATED CARE BOARD"),
        ("Midlands and Lancashire CSU", "MIDLANDS AND LANCASHIRE COMMISSIONING SUPPORT UNIT"),
        ("Guys and St Thomas NHS FT", "GUY'S AND ST THOMAS' NHS FOUNDATION TRUST"),
        ("Sheffield Teaching Hospitals", "SHEFFIELD TEACHING HOSPITALS NHS FOUNDATION TRUST"),
        ("Cardiff and Vale University Health Board", "CARDIFF AND VALE UNIVERSITY LHB"),
    ):
        assert same_name(given, OdsOrganisation("X", name)), given
    for given, name in (
        ("NHS Suffolk ICB", "NHS WEST SUFFOLK ICB"),
        ("NHS Foundation Trust", "2GETHER NHS FOUNDATION TRUST"),  # a name, not a code
    ):
        assert not same_name(given, OdsOrganisation("X", name)), given


def test_an_organisation_of_no_kind_the_form_offers_is_flagged_in_its_role() -> None:
    company = OdsOrganisation("NQL", "EXAMPLE HEALTH ANALYTICS LTD", OrgKind.OTHER.value)
    ctx = _with(company)
    result = check_form(
        ctx, commissioner_ods="NQL", commissioner_name="Example Health Analytics Ltd"
    )
    assert any(
        "Commissioning organisation NQL (EXAMPLE HEALTH ANALYTICS LTD) is not a CCG in ODS" in f
        for f in flags(result)
    )
    other = check_form(
        ctx,
        commissioner_ods="NQL",
        commissioner_name="Example Health Analytics Ltd",
        commissioner_type="Other",
    )
    assert not any("NQL" in f for f in flags(other))


def test_kinds_are_named_with_the_article_they_are_spoken_with() -> None:
    result = check_form(processor_ods="QZE", processor_name="NHS Essex ICB")
    assert any("Data processor QZE is an ICB in ODS, not a CSU." in f for f in flags(result))
