"""A kind an ODS role gave (FHIR's RO319: a sub-ICB location) is kept when a CSV report, which
has no roles, guesses another from the name; and a name an organisation has again is not
among its former names. In two imports, or in one import of both."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake_bot.domain.organisations import OdsOrganisation
from tests.ods_files import bundle, fhir_organisation, report_row
from tests.unit.test_ods_service import Rig

MIXED = "NHS North East and North Cumbria ICB - 16C"
CP1252 = "NHS NORTH EAST & NORTH CUMBRIA ICB \u2013 16C"  # an en dash: no sub-ICB by its name


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path)


def _fhir(rig: Rig) -> Path:
    record = fhir_organisation("16C", MIXED, start="2022-07-01", role="RO319", primary_role="RO98")
    return bundle(rig.folder / "16c.json", [record])


def _csv(rig: Rig, name: str, file: str = "eccg.csv") -> Path:
    path = rig.folder / file
    path.write_bytes(
        ("\r\n".join([report_row("16C", name, opened="20220701")]) + "\r\n").encode("cp1252")
    )
    return path


def _org(rig: Rig) -> OdsOrganisation:
    (org,) = [o for o in rig.store.memory.all(OdsOrganisation) if o.code == "16C"]
    return org


def test_a_report_after_the_record_keeps_the_kind_its_role_gave(rig: Rig) -> None:
    rig.ods.import_files([_fhir(rig)], actor="op")
    assert (_org(rig).kind, _org(rig).role) == ("sub-ICB location", "RO319")

    changed = rig.ods.import_files([_csv(rig, CP1252)], actor="op").changes

    assert (_org(rig).kind, _org(rig).role) == ("sub-ICB location", "RO319")
    assert not [c for c in changed if c.what == "updated" and "kind" in c.detail]


def test_one_import_of_both_keeps_it_too(rig: Rig) -> None:
    rig.ods.import_files([_fhir(rig), _csv(rig, CP1252)], actor="op")
    assert (_org(rig).kind, _org(rig).role) == ("sub-ICB location", "RO319")


def test_a_name_it_has_again_is_not_a_former_name(rig: Rig) -> None:
    rig.ods.import_files([_fhir(rig)], actor="op")
    rig.ods.import_files([_csv(rig, CP1252)], actor="op")
    rig.ods.import_files([_csv(rig, MIXED.upper(), "again.csv")], actor="op")

    org = _org(rig)
    assert org.name == MIXED.upper()
    former = [n["name"].casefold() for n in org.former_names]
    assert MIXED.casefold() not in former and CP1252.casefold() in former
