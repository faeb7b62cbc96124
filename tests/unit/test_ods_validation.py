"""Validation with an ODS list: unknown and closed codes (naming the successor), names that do
not match, kinds that do not fit the role; and with no list, today's behaviour."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from intake_bot.domain.organisations import OdsOrganisation, OrganisationIndex, OrgKind, Succession
from intake_bot.domain.rawform import RawForm, RawValue
from intake_bot.domain.validation import Validation, ValidationContext, validate
from tests.unit.test_validation import NEW

TODAY = date(2026, 6, 1)


def org(code: str, name: str, kind: OrgKind, closed: date | None = None) -> OdsOrganisation:
    return OdsOrganisation(code=code, name=name, kind=kind.value, closed_on=closed)


RECORDS = [
    org("03G", "NHS LEEDS SOUTH AND EAST CCG", OrgKind.CCG, date(2022, 6, 30)),
    org("15F", "NHS WEST YORKSHIRE ICB - 15F", OrgKind.SUB_ICB),
    org("00C", "NHS DARLINGTON CCG", OrgKind.CCG, date(2022, 6, 30)),
    org("16C", "NHS NORTH EAST AND NORTH CUMBRIA ICB - 16C", OrgKind.SUB_ICB),
    org("0DE", "NHS NORTH OF ENGLAND COMMISSIONING SUPPORT UNIT", OrgKind.CSU),
    org("RR8", "LEEDS TEACHING HOSPITALS NHS TRUST", OrgKind.TRUST),
    org(
        "QJG",
        "NHS SUFFOLK AND NORTH EAST ESSEX INTEGRATED CARE BOARD",
        OrgKind.ICB,
        date(2026, 3, 31),
    ),
    org("QZE", "NHS ESSEX INTEGRATED CARE BOARD", OrgKind.ICB),
    # A chain: 5PX closed into 5PY, which closed in turn into 5PZ (codes made up).
    org("5PX", "NHS FIRST CCG", OrgKind.CCG, date(2018, 3, 31)),
    org("5PY", "NHS SECOND CCG", OrgKind.CCG, date(2022, 6, 30)),
    org("5PZ", "NHS THIRD ICB - 5PZ", OrgKind.SUB_ICB),
]
RECORDS[5].former_names = [
    {"name": "UNITED LEEDS TEACHING HOSPITALS NHS TRUST", "until": "2025-01-01"}
]
SUCCESSIONS = [
    Succession("03G", "15F", date(2022, 7, 1), "reconfiguration"),
    Succession("00C", "16C", date(2022, 7, 1)),
    Succession("QJG", "QZE", date(2026, 4, 1)),
    Succession("5PX", "5PY", date(2018, 4, 1)),
    Succession("5PY", "5PZ", date(2022, 7, 1)),
]
CONFIG_ONLY = frozenset({"Q44"})  # an area team listed in config/organisations.toml alone
INDEX = OrganisationIndex(CONFIG_ONLY, RECORDS, SUCCESSIONS)
CTX = ValidationContext(today=TODAY, dscros=("North", "South"), known_ods=INDEX)
FORM: dict[str, RawValue] = {
    **NEW,
    "commissioner_name": "NHS North East and North Cumbria ICB - 16C",
    "commissioner_ods": "16C",
    "processor_name": "North of England Commissioning Support",
    "processor_ods": "0de",
    "purposes": "Commissioning",
    "s251_references": "",
}


def check(ctx: ValidationContext = CTX, /, **changes: RawValue) -> Validation:
    return validate(RawForm("request.docx", {**FORM, **changes}), ctx)


def messages(result: Validation) -> list[str]:
    return [p.message for p in result.problems]


def flags(result: Validation) -> list[str]:
    return [f.message for f in result.flags]


def test_open_codes_with_their_names_pass_without_a_word() -> None:
    result = check()
    assert result.problems == [] and result.flags == []


def test_a_ccg_closed_in_2022_is_a_problem_that_names_its_sub_icb_successor() -> None:
    result = check(commissioner_ods="03G", commissioner_name="NHS Leeds South and East CCG")
    (message,) = messages(result)
    assert "03G closed on 30/06/2022; its successor is 15F" in message
    assert "NHS WEST YORKSHIRE ICB - 15F" in message
    assert message.startswith('Commissioning organisation ODS code: we found "03G"')


def test_an_icb_abolished_in_the_2026_merger_names_the_new_icb() -> None:
    result = check(commissioner_ods="QJG", commissioner_name="NHS Suffolk and North East Essex ICB")
    (message,) = messages(result)
    assert (
        "QJG closed on 31/03/2026; its successor is QZE (NHS ESSEX INTEGRATED CARE BOARD)"
        in message
    )


def test_a_chain_of_successions_is_followed_to_the_organisation_open_today() -> None:
    result = check(commissioner_ods="5PX", commissioner_name="NHS First CCG")
    assert "5PX closed on 31/03/2018; its successor is 5PZ" in messages(result)[0]


def test_successions_that_go_round_in_a_circle_still_name_the_successor() -> None:
    closed = date(2020, 3, 31)
    records = [
        org("7AA", "NHS A CCG", OrgKind.CCG, closed),
        org("7BB", "NHS B", OrgKind.CCG, closed),
    ]
    back_and_forth = [
        Succession("7AA", "7BB", date(2020, 4, 1)),
        Succession("7BB", "7AA", date(2020, 4, 1)),
    ]
    index = OrganisationIndex(CONFIG_ONLY, records, back_and_forth)
    assert index.current_successors("7AA", TODAY) == ["7BB"]
    result = check(
        replace(CTX, known_ods=index), commissioner_ods="7AA", commissioner_name="NHS A CCG"
    )
    assert "7AA closed on 31/03/2020; its successor is 7BB" in messages(result)[0]


def test_a_code_ods_does_not_list_is_a_problem_once_a_list_is_imported() -> None:
    result = check(commissioner_ods="99Z", commissioner_name="Nobody")
    assert "99Z is not in its list" in messages(result)[0]
    assert not any("organisation list" in f for f in flags(result))


def test_a_code_only_config_lists_still_works_as_before() -> None:
    result = check(commissioner_ods="Q44", commissioner_name="NHS England Area Team")
    assert result.problems == [] and result.flags == []


def test_without_an_ods_list_an_unknown_code_is_only_flagged_as_today() -> None:
    ctx = ValidationContext(today=TODAY, dscros=("North",), known_ods=frozenset({"0DE", "16C"}))
    result = check(ctx, commissioner_ods="03G", commissioner_name="NHS Leeds South and East CCG")
    assert result.problems == []
    assert flags(result) == [
        "Commissioning organisation ODS code: 03G is not in the organisation list."
    ]


def test_a_name_that_is_not_the_codes_is_flagged_for_staff_not_the_sender() -> None:
    result = check(commissioner_name="NHS Leeds CCG")
    assert result.problems == []
    assert flags(result) == [
        'Commissioning organisation: "NHS Leeds CCG" does not match the name ODS gives 16C: '
        "NHS NORTH EAST AND NORTH CUMBRIA ICB - 16C."
    ]


def test_a_name_close_to_the_codes_but_another_organisations_own_is_flagged() -> None:
    # One word short of 16C's name would pass ("unit", a sub-ICB's code), but these are the
    # names of other organisations: the form may give one's code and mean the other.
    leeds = [
        org("02V", "NHS LEEDS NORTH CCG", OrgKind.CCG),
        org("02W", "NHS LEEDS CCG", OrgKind.CCG),
    ]
    ctx = replace(CTX, known_ods=OrganisationIndex(CONFIG_ONLY, [*RECORDS, *leeds], SUCCESSIONS))
    result = check(ctx, commissioner_ods="02V", commissioner_name="NHS Leeds CCG")
    assert flags(result) == [
        'Commissioning organisation: "NHS Leeds CCG" is a name ODS gives 02W (NHS LEEDS CCG), '
        "not 02V: 02V is NHS LEEDS NORTH CCG."
    ]
    former = "United Leeds Teaching Hospitals NHS Trust"  # RR8's former name
    assert "is a name ODS gives RR8" in flags(check(ctx, commissioner_name=former))[0]
    spelt_out = "NHS Leeds North Clinical Commissioning Group"
    assert flags(check(ctx, commissioner_ods="02V", commissioner_name=spelt_out)) == []


def test_a_former_name_is_flagged_as_such() -> None:
    result = check(
        commissioner_ods="RR8",
        commissioner_name="United Leeds Teaching Hospitals NHS Trust",
        commissioner_type="Other",
    )
    assert any("is a former name of RR8" in f for f in flags(result))


def test_a_trust_cannot_be_the_commissioner_unless_the_form_says_other() -> None:
    result = check(commissioner_ods="RR8", commissioner_name="Leeds Teaching Hospitals NHS Trust")
    (message,) = messages(result)
    assert "RR8 (LEEDS TEACHING HOSPITALS NHS TRUST) is a trust" in message
    said_so = check(
        commissioner_ods="RR8",
        commissioner_name="Leeds Teaching Hospitals NHS Trust",
        commissioner_type="Other",
    )
    assert said_so.problems == []


def test_a_processor_said_to_be_a_csu_that_ods_calls_a_trust_is_flagged() -> None:
    result = check(processor_ods="RR8", processor_name="Leeds Teaching Hospitals NHS Trust")
    assert result.problems == []
    assert flags(result) == [
        "Type of data processor: Data processor RR8 is a trust in ODS, not a CSU."
    ]


def test_a_closure_ods_publishes_ahead_is_flagged_for_staff_with_the_successor() -> None:
    ctx = ValidationContext(today=date(2026, 1, 5), dscros=("North",), known_ods=INDEX)
    result = check(
        ctx, commissioner_ods="QJG", commissioner_name="NHS Suffolk and North East Essex ICB"
    )
    assert result.problems == []
    assert flags(result) == [
        "Commissioning organisation ODS code: QJG closes on 31/03/2026; its successor is QZE "
        "(NHS ESSEX INTEGRATED CARE BOARD)."
    ]


def test_a_code_known_only_from_the_successions_file_is_closed_naming_its_successor() -> None:
    # ODS's reports drop a CCG some years after it closed; succ.csv still names it
    records = [r for r in RECORDS if r.code != "03G"]
    ctx = replace(CTX, known_ods=OrganisationIndex(CONFIG_ONLY, records, SUCCESSIONS))
    result = check(ctx, commissioner_ods="03G", commissioner_name="NHS Leeds South and East CCG")
    (problem,) = messages(result)
    assert "03G closed on 30/06/2022; its successor is 15F (NHS WEST YORKSHIRE ICB" in problem
    assert not any("03G" in f and "name" in f for f in flags(result))  # no name to compare


def test_successions_alone_list_no_codes() -> None:
    # succ.csv imported before any report: a code it does not name is not "unknown to ODS"
    ctx = replace(CTX, known_ods=OrganisationIndex(CONFIG_ONLY, (), SUCCESSIONS))
    assert "16C" not in " ".join(messages(check(ctx)))
    assert any(
        "03G closed on 30/06/2022" in m for m in messages(check(ctx, commissioner_ods="03G"))
    )


def test_an_organisation_ods_opens_ahead_is_flagged_as_not_yet_open() -> None:
    qzz = replace(org("QZZ", "NHS NEW ICB", OrgKind.ICB), opened_on=date(2027, 4, 1))
    ctx = replace(CTX, known_ods=OrganisationIndex(CONFIG_ONLY, [*RECORDS, qzz], SUCCESSIONS))
    result = check(ctx, commissioner_ods="QZZ", commissioner_name="NHS New ICB")
    assert any(f.endswith("QZZ opens on 01/04/2027, not yet open.") for f in flags(result))
    assert not any("QZZ" in m for m in messages(check(ctx)))


def test_a_code_known_only_by_its_succession_is_not_judged_by_a_name_or_kind_ods_never_gave() -> (
    None
):
    """succ.csv alone names 0AA (the reports dropped it): it closed the day before its successor
    took over; ODS gave it no name and no kind, so neither is flagged."""
    index = OrganisationIndex(
        CONFIG_ONLY, RECORDS, [*SUCCESSIONS, Succession("0AA", "15F", date(2022, 7, 1))]
    )
    result = check(
        replace(CTX, known_ods=index),
        commissioner_ods="0AA",
        commissioner_name="NHS Somewhere CCG",
        commissioner_type="CCG",
    )
    assert messages(result) == [
        'Commissioning organisation ODS code: we found "0AA", expected the code of an open '
        "organisation: 0AA closed on 30/06/2022; its successor is 15F "
        "(NHS WEST YORKSHIRE ICB - 15F)."
    ]
    assert flags(result) == []
