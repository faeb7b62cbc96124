"""The form's organisations checked against the ODS list: a code ODS does not know, a code that
has closed (naming its successor), a name that is not the code's, a kind that does not fit the role.

Pure: no I/O. Used by `validation.validate` once an ODS list (or its successions) has been
imported; with no report, a code missing from config/'s list is flagged for staff as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from intake_bot.domain.fields import RequestType
from intake_bot.domain.organisation_names import (
    code_beside,
    former_name,
    name_key,
    same_name,
    without_code,
)
from intake_bot.domain.organisations import (
    OdsOrganisation,
    OrganisationIndex,
    OrgKind,
    ods_listed,
    successor_phrase,
    uk,
)


@dataclass(frozen=True)
class _Role:
    ods_key: str
    name_key: str
    type_key: str
    what: str  # "a commissioning organisation"


_ROLES = (
    _Role(
        "commissioner_ods", "commissioner_name", "commissioner_type", "commissioning organisation"
    ),
    _Role("processor_ods", "processor_name", "processor_type", "data processor"),
)

# The kinds each answer to "Type of ..." admits; "Other" admits any.
_FITS: dict[str, frozenset[OrgKind]] = {
    "CCG": frozenset({OrgKind.SUB_ICB, OrgKind.CCG, OrgKind.ICB}),
    "NHS England Local Area Team": frozenset({OrgKind.REGION}),
    "CSU": frozenset({OrgKind.CSU}),
}


def carried_values(
    values: Mapping[str, object], party: str, org: OdsOrganisation
) -> dict[str, object]:
    """A version's values with `party` carried over to `org`: its code, its name, and a "Type
    of ..." answer that fits it (kept when it still does: "CCG" for a sub-ICB location)."""
    carried = {**values, f"{party}_ods": org.code, f"{party}_name": org.name}
    stated, kind = carried.get(f"{party}_type"), _kind(org)
    if stated is not None and stated != "Other" and kind not in _FITS.get(str(stated), {kind}):
        choices = ("CSU",) if party == "processor" else tuple(_FITS)  # the form's own choices
        carried[f"{party}_type"] = next((c for c in choices if kind in _FITS[c]), "Other")
    return carried


def _kind(org: OdsOrganisation) -> OrgKind:
    return OrgKind(org.kind) if org.kind in OrgKind._value2member_map_ else OrgKind.OTHER


@dataclass
class Findings:
    """(field key, value found, what is expected) problems; (field key, message) flags."""

    problems: list[tuple[str, str, str]] = field(default_factory=list)
    flags: list[tuple[str, str]] = field(default_factory=list)


def organisation_findings(
    values: Mapping[str, object], known: frozenset[str], today: date
) -> Findings:
    """What the ODS list says about the organisations a form names (nothing without a list).

    Closures and openings are judged on the day the request takes effect when that is later
    than today: a relationship from 1 April cannot name an ICB abolished on 31 March."""
    found = Findings()
    if not isinstance(known, OrganisationIndex) or not known.records:
        return found
    effective = values.get("effective_date")
    on = _When(today, max(today, effective) if isinstance(effective, date) else today)
    ending = values.get("request_type") == RequestType.END
    for role in _ROLES:
        code = values.get(role.ods_key)
        if isinstance(code, str) and code:
            _check_code(found, role, code, values, known, on, ending)
    return found


@dataclass(frozen=True)
class _When:
    today: date
    effect: date  # the day the request takes effect, or today if that is earlier


def _check_code(
    found: Findings,
    role: _Role,
    code: str,
    values: Mapping[str, object],
    index: OrganisationIndex,
    on: _When,
    ending: bool,
) -> None:
    if code not in index:
        if ods_listed(index):  # else: successions alone were imported, and list no codes
            expected = f"an ODS code the Organisation Data Service lists; {code} is not in its list"
            found.problems.append((role.ods_key, code, expected))
        return
    org = index.records.get(code)
    if org is None:  # listed in config/ only: known, as before an ODS list existed
        return
    _check_dates(found, role, org, index, on, ending)
    if not org.name:  # known by succession only: ODS gave no name or kind to check against
        return
    given = values.get(role.name_key)
    if isinstance(given, str) and given.strip():
        _check_name(found, role, given.strip(), org, index)
    _check_kind(found, role, org, values.get(role.type_key))


def _check_dates(
    found: Findings,
    role: _Role,
    org: OdsOrganisation,
    index: OrganisationIndex,
    on: _When,
    ending: bool,
) -> None:
    code = org.code
    if org.closed_by(on.effect):
        successor = successor_phrase(index, code, on.effect)
        closed = f"{code} closed on {uk(org.closed_on)}; {successor}"
        if ending:  # an end names the parties the register holds, closed or not
            closes = closed if org.closed_by(on.today) else closed.replace(" closed ", " closes ")
            found.flags.append((role.ods_key, f"{closes}."))
        elif org.closed_by(on.today):
            expected = f"the code of an open organisation: {closed}"
            found.problems.append((role.ods_key, code, expected))
        else:  # closes before the relationship (or the change) takes effect
            expected = (
                f"the code of an organisation open on {uk(on.effect)}, when the request takes "
                f"effect: {code} closes on {uk(org.closed_on)}; {successor}"
            )
            found.problems.append((role.ods_key, code, expected))
    elif org.closed_on is not None:  # ODS publishes a closure ahead (the 2026 ICB mergers)
        after = f"{successor_phrase(index, code, org.closed_on)}"
        found.flags.append((role.ods_key, f"{code} closes on {uk(org.closed_on)}; {after}."))
    if org.opened_on is not None and org.opened_on > on.effect:  # published ahead
        if on.effect == on.today:
            message = f"{code} opens on {uk(org.opened_on)}, not yet open."
        else:
            message = (
                f"{code} opens on {uk(org.opened_on)}, after the request takes effect "
                f"({uk(on.effect)})."
            )
        found.flags.append((role.ods_key, message))


def _check_name(
    found: Findings, role: _Role, given: str, org: OdsOrganisation, index: OrganisationIndex
) -> None:
    """`given` against the names ODS gives `org`, its code written beside it aside ("NHS X CCG
    (03G)", "03G - NHS X CCG"), as forms are filled: ODS's name for a sub-ICB location ends
    in its code, wherever the form writes it. Another code written beside it is flagged."""
    if name_key(given) == name_key(org.name):
        return
    bare = without_code(given, org.code)
    if bare != given:  # its own code written beside it, where ODS's name may have it too
        with_code = f"{bare} {org.code}"
        if name_key(bare) == name_key(org.name) or same_name(with_code, org):
            return
    other, named = None, bare  # another code written beside the name, and the name without it
    beside = code_beside(bare)
    if beside is not None and _a_code(beside[1], index):
        named, other = beside
    # Close to the code's name, but another organisation's own ("NHS Leeds CCG" for 02V,
    # NHS LEEDS NORTH CCG): the form may name the one and mean the other. Written with the
    # other's code ("NHS Leeds CCG (02W)"), the name is looked up without it.
    others = [code for code in index.codes_named(bare) if code != org.code]
    if not others and other is not None and other in index.codes_named(named):
        others = [other]
    if others:
        known = index.records[others[0]]
        message = (
            f'"{given}" is a name ODS gives {known.code} ({known.name}), not {org.code}: '
            f"{org.code} is {org.name}."
        )
        found.flags.append((role.name_key, message))
        return
    if same_name(bare, org):
        return
    if other is not None and (same_name(named, org) or former_name(named, org) is not None):
        found.flags.append((role.name_key, _written_with(given, other, org, index)))
        return
    former = former_name(bare, org)
    if former is not None:
        message = f'"{given}" is a former name of {org.code}; ODS now calls it {org.name}.'
    else:
        message = f'"{given}" does not match the name ODS gives {org.code}: {org.name}.'
    found.flags.append((role.name_key, message))


def _a_code(word: str, index: OrganisationIndex) -> bool:
    """Whether a word written beside a name is an ODS code: one the list knows, or letters and
    digits ("02V"), not a word of a name ("Tees, Esk and Wear Valleys")."""
    return word in index or (any(c.isdigit() for c in word) and any(c.isalpha() for c in word))


def _written_with(given: str, other: str, org: OdsOrganisation, index: OrganisationIndex) -> str:
    """The flag for `org`'s name written with another code beside it."""
    record = index.records.get(other)
    whose = f"{other} ({record.name})" if record is not None and record.name else other
    return f'"{given}" names {org.code} ({org.name}) but is written with another code, {whose}.'


def _check_kind(found: Findings, role: _Role, org: OdsOrganisation, given: object) -> None:
    kind = _kind(org)
    stated = given if isinstance(given, str) else ""
    if stated == "Other":
        return
    if kind is OrgKind.OTHER:  # a company, a GP practice...: none of the kinds the form offers
        if stated in _FITS:
            found.flags.append(
                (
                    role.type_key,
                    f"{role.what.capitalize()} {org.code} ({org.name}) is not {_a(stated)} in "
                    'ODS, nor any kind the form offers: if it is right, "Other" is the type.',
                )
            )
        return
    if role.ods_key == "commissioner_ods" and kind is OrgKind.TRUST:
        expected = (
            f"the code of a commissioning organisation; {org.code} ({org.name}) is a trust: "
            'if a trust really is the commissioner, choose "Other" as the type'
        )
        found.problems.append((role.ods_key, org.code, expected))
        return
    fits = _FITS.get(stated)
    if fits is not None and kind not in fits:
        found.flags.append(
            (
                role.type_key,
                f"{role.what.capitalize()} {org.code} is {_a(kind)} in ODS, not {_a(stated)}.",
            )
        )


def _a(kind: str) -> str:
    """ "a CSU", "an ICB", "an NHS England region": the article as the word is spoken."""
    spoken_vowel = kind[:1] in "AEIOUaeiou" or kind.startswith(("NHS", "ICB"))
    return f"{'an' if spoken_vowel else 'a'} {kind}"


__all__ = ["Findings", "carried_values", "ods_listed", "organisation_findings"]
