"""A name written with its own code beside it, as forms are filled ("NHS Leeds South and East CCG
(03G)", "RXF - Mid Yorkshire Teaching NHS Trust"), is the code's name; another code beside it
is flagged, and names that are not the code's still are."""

from __future__ import annotations

from dataclasses import replace

import pytest

from intake_bot.domain.organisations import OdsOrganisation, OrganisationIndex, OrgKind
from intake_bot.domain.validation import ValidationContext
from tests.unit.test_ods_validation import CONFIG_ONLY, CTX, RECORDS, SUCCESSIONS, check, flags

OWN = [
    OdsOrganisation("03G", "NHS LEEDS SOUTH AND EAST CCG", OrgKind.CCG.value),
    OdsOrganisation("02V", "NHS LEEDS NORTH CCG", OrgKind.CCG.value),
    OdsOrganisation("RXF", "MID YORKSHIRE TEACHING NHS TRUST", OrgKind.TRUST.value),
    OdsOrganisation("QZE", "NHS WEST AND NORTH YORKSHIRE INTEGRATED CARE BOARD", OrgKind.ICB.value),
    OdsOrganisation(
        "QHM", "NHS NORTH EAST AND NORTH CUMBRIA INTEGRATED CARE BOARD", OrgKind.ICB.value
    ),
]


def _ctx(*extra: OdsOrganisation) -> ValidationContext:
    records = [*(r for r in RECORDS if r.code not in {o.code for o in [*OWN, *extra]})]
    index = OrganisationIndex(CONFIG_ONLY, [*records, *OWN, *extra], SUCCESSIONS)
    return replace(CTX, known_ods=index)


def name_flags(code: str, name: str, ctx: ValidationContext | None = None) -> list[str]:
    result = check(
        ctx or _ctx(), commissioner_ods=code, commissioner_name=name, commissioner_type="Other"
    )
    return [f for f in flags(result) if f.startswith("Commissioning organisation: ")]


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("03G", "NHS Leeds South and East CCG (03G)"),
        ("03G", "NHS Leeds South and East CCG [03G]"),
        ("03G", "NHS Leeds South and East CCG - 03G"),
        ("03G", "NHS Leeds South and East CCG \u2013 03G"),  # an en dash
        ("03G", "NHS Leeds South and East CCG: 03G"),
        ("03G", "NHS Leeds South and East CCG, 03G"),
        ("03G", "NHS Leeds South and East CCG (03g)"),
        ("03G", "03G - NHS Leeds South and East CCG"),
        ("03G", "03g: NHS Leeds South and East CCG"),
        ("RXF", "Mid Yorkshire Teaching NHS Trust (RXF)"),
        ("RXF", "RXF - Mid Yorkshire Teaching NHS Trust"),
        ("RXF", "RXF \u2013 Mid Yorkshire Teaching Trust"),  # a spare word left out too
        ("QZE", "NHS West and North Yorkshire Integrated Care Board (QZE)"),
        ("QZE", "NHS West and North Yorkshire ICB - QZE"),
    ],
)
def test_a_name_written_with_its_own_code_is_the_codes_name(code: str, name: str) -> None:
    assert name_flags(code, name) == []


@pytest.mark.parametrize(
    "name",
    [
        "NHS North East and North Cumbria ICB - 16C",
        "NHS North East and North Cumbria ICB (16C)",
        "NHS North East and North Cumbria ICB \u2013 16c",
        "16C - NHS North East and North Cumbria ICB",
        "NHS North East and North Cumbria ICB - 16C (16C)",
    ],
)
def test_an_ods_name_that_ends_in_its_code_matches_wherever_the_code_is_written(name: str) -> None:
    assert name_flags("16C", name) == []


def test_an_ods_name_ending_in_its_code_typed_without_it_is_still_its_icbs_name() -> None:
    # QHM is in the list: a sub-ICB location named without its code is named as its ICB.
    (flag,) = name_flags("16C", "NHS North East and North Cumbria ICB")
    assert "is a name ODS gives QHM" in flag


def test_another_code_beside_the_codes_name_is_flagged_naming_it() -> None:
    assert name_flags("03G", "NHS Leeds South and East CCG (02V)") == [
        'Commissioning organisation: "NHS Leeds South and East CCG (02V)" names 03G (NHS LEEDS '
        "SOUTH AND EAST CCG) but is written with another code, 02V (NHS LEEDS NORTH CCG)."
    ]
    (flag,) = name_flags("03G", "9ZZ - NHS Leeds South and East CCG")  # a code not in the list
    assert flag.endswith("but is written with another code, 9ZZ.")


def test_another_organisations_name_with_its_own_code_is_named_as_that_organisations() -> None:
    assert name_flags("03G", "NHS Leeds North CCG (02V)") == [
        'Commissioning organisation: "NHS Leeds North CCG (02V)" is a name ODS gives 02V (NHS '
        "LEEDS NORTH CCG), not 03G: 03G is NHS LEEDS SOUTH AND EAST CCG."
    ]
    leeds = OdsOrganisation("02W", "NHS LEEDS CCG", OrgKind.CCG.value)
    (flag,) = name_flags("02V", "NHS Leeds CCG (02V)", _ctx(leeds))
    assert "is a name ODS gives 02W (NHS LEEDS CCG), not 02V" in flag


def test_names_that_are_not_the_codes_are_still_flagged_with_the_code_beside_them() -> None:
    for code, name in (
        ("03G", "NHS Leeds CCG (03G)"),
        ("03G", "03G - NHS Leeds CCG"),
        ("RXF", "Mid Yorkshire Hospitals NHS Trust (RXF)"),
    ):
        (flag,) = name_flags(code, name)
        assert f'"{name}" does not match the name ODS gives {code}: ' in flag
    # another organisation's name with the form's code beside it is named as the other's
    (flag,) = name_flags("RXF", "Leeds Teaching Hospitals NHS Trust (RXF)")
    assert "is a name ODS gives RR8 (LEEDS TEACHING HOSPITALS NHS TRUST), not RXF" in flag
    # words of a name are no code: "Tees, ..." and "... - Leeds" are compared as written
    (flag,) = name_flags("RXF", "Mid Yorkshire Teaching NHS Trust - Leeds")
    assert "does not match the name ODS gives RXF" in flag


def test_a_former_name_with_its_codes_code_is_flagged_as_a_former_name() -> None:
    former = "United Leeds Teaching Hospitals NHS Trust (RR8)"  # RR8's former name
    (flag,) = name_flags("RR8", former)
    assert f'"{former}" is a former name of RR8; ODS now calls it ' in flag
