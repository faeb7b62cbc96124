"""Organisations as the Organisation Data Service (ODS) publishes them, and their successions.

Pure: no I/O. The readers in `intake_bot/ods/` turn published files into `OrgEntry` and
`SuccessionEntry` values; `merge_entry` says how one entry changes what is kept; `OrganisationIndex`
is what validation reads (every known code, with ODS's record and successors of each).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from intake_bot.domain.organisation_names import name_key


class OrgKind(StrEnum):
    """What an organisation is, as far as a relationship cares."""

    SUB_ICB = "sub-ICB location"
    CCG = "CCG"
    ICB = "ICB"
    CSU = "CSU"
    REGION = "NHS England region"
    TRUST = "trust"
    OTHER = "other"


COMMISSIONING_KINDS = frozenset({OrgKind.SUB_ICB, OrgKind.CCG, OrgKind.ICB, OrgKind.REGION})


class OdsError(Exception):
    """An ODS file or decision cannot be used; the message tells the operator why."""


# --- what is kept (records, mapped onto tables by the store) ---------------------------------


@dataclass(eq=False)
class OdsOrganisation:
    """One organisation as ODS last published it. Codes are never reused, only closed."""

    code: str
    name: str
    kind: str = OrgKind.OTHER.value
    role: str = ""  # the ODS role code when the file gives one (RO98, RO318...)
    opened_on: date | None = None
    closed_on: date | None = None  # the last day it was open
    parent: str | None = None  # the ICB or region above it
    postcode: str = ""
    former_names: list[dict[str, str]] = field(default_factory=list)  # {"name", "until"}
    updated_at: datetime | None = None

    def closed_by(self, today: date) -> bool:
        """Whether it had closed before `today`."""
        return self.closed_on is not None and self.closed_on < today


@dataclass(eq=False)
class Succession:
    """ODS's word that `new_code` took over from `old_code` (a merger, a reconfiguration...)."""

    old_code: str
    new_code: str
    effective_on: date | None = None
    reason: str = ""
    id: int | None = None


@dataclass(eq=False)
class SuccessionReview:
    """For staff: a relationship names an organisation that has closed. Carry it over to the
    successor, or end it; the register changes only when staff decide."""

    relationship_id: int
    reference: str  # the relationship's, LCR-000123
    party: str  # "commissioner" or "processor"
    closed_code: str
    created_at: datetime
    closed_on: date | None = None
    successors: list[str] = field(default_factory=list)
    status: str = "open"  # open | carried | ended | withdrawn (nothing left to decide)
    decided_at: datetime | None = None
    decided_by: str = ""
    note: str = ""
    notice_message_id: str | None = None  # the notice to the contacts; the decision replies to it
    carried_to: str | None = None  # decided: the successor the relationship was carried to
    effective_on: date | None = None  # decided: the day the carry or the end took effect
    id: int | None = None


OPEN, CARRIED, ENDED, WITHDRAWN = "open", "carried", "ended", "withdrawn"
# No organisation ODS lists is older: a year-1 date is a placeholder (and has no day before).
EARLIEST = date(1900, 1, 1)
PARTIES = ("commissioner", "processor")


# --- what a published file says --------------------------------------------------------------


@dataclass(frozen=True)
class OrgEntry:
    code: str
    name: str
    kind: OrgKind
    opened_on: date | None = None
    closed_on: date | None = None
    parent: str | None = None
    postcode: str = ""
    role: str = ""


@dataclass(frozen=True)
class SuccessionEntry:
    old_code: str
    new_code: str
    effective_on: date | None = None
    reason: str = ""
    # Read from the successor's own record (a FHIR Predecessor link), which knows only itself:
    # it adds to the old code's successors, never stands for the whole list of them.
    partial: bool = False


@dataclass(frozen=True)
class OdsFile:
    """One file read: what it was (its format) and what it holds."""

    name: str
    format: str  # "ODS report (CSV)", "successions (CSV)", "FHIR Organization (JSON)"
    organisations: tuple[OrgEntry, ...] = ()
    successions: tuple[SuccessionEntry, ...] = ()
    left_out: tuple[str, ...] = ()  # records it could not use, each named with why


@dataclass(frozen=True)
class Change:
    """One thing an import changed: opened, closed, reopened, renamed, updated or succeeded."""

    what: str
    code: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"change": self.what, "code": self.code, "detail": self.detail}


def uk(day: date | None) -> str:
    return "" if day is None else f"{day:%d/%m/%Y}"


def new_organisation(entry: OrgEntry, now: datetime) -> tuple[OdsOrganisation, Change]:
    """The record for a code not seen before, and how the import reports it."""
    org = OdsOrganisation(code=entry.code, name=entry.name, updated_at=now)
    _copy(org, entry)
    if entry.closed_on is not None:
        return org, Change("closed", entry.code, _closure(entry, now, "closed on"))
    opened = f", opened on {uk(entry.opened_on)}" if entry.opened_on else ""
    return org, Change("opened", entry.code, f"{entry.name} ({entry.kind}){opened}")


def _closure(entry: OrgEntry, now: datetime, past: str) -> str:
    """ "NAME, closed on DD/MM/YYYY", or "NAME, closes on DD/MM/YYYY" for a closure published
    ahead (the April 2027 ICB mergers): an import does not say it has happened already."""
    ahead = entry.closed_on is not None and entry.closed_on > now.date()
    return f"{entry.name}, {'closes on' if ahead else past} {uk(entry.closed_on)}"


def merge_entry(org: OdsOrganisation, entry: OrgEntry, now: datetime) -> list[Change]:
    """Bring `org` up to what `entry` says; what changed, for the report (nothing: []).

    A parent, postcode or role the entry does not give keeps the one known: a FHIR resource
    seldom says where it sits, and a CSV report has no roles, so importing one after the other
    must not undo the first (nor ever settle)."""
    entry = replace(
        entry,
        parent=entry.parent or org.parent,
        postcode=entry.postcode or org.postcode,
        kind=_kind_kept(entry, org.role, org.kind),
    )
    changes: list[Change] = []
    # Case and spacing aside: ODS's CSV reports write names in capitals, its FHIR API in mixed
    # case, and importing one after the other must settle, not rename to and fro.
    if _spelt(entry.name) != _spelt(org.name):
        changes.append(Change("renamed", org.code, f"{org.name} → {entry.name}"))
        # A name it had before and has again (the reports' spelling, then FHIR's) is not former.
        kept = [n for n in org.former_names if _spelt(n["name"]) != _spelt(entry.name)]
        org.former_names = [*kept, {"name": org.name, "until": now.date().isoformat()}]
        org.name = entry.name
    entry = replace(entry, name=org.name)
    if entry.closed_on != org.closed_on:
        if entry.closed_on is None:
            changes.append(Change("reopened", org.code, f"{entry.name} (was closed)"))
        else:
            changes.append(Change("closed", org.code, _closure(entry, now, "on")))
    others = [
        name
        for name, old, new in (
            ("kind", org.kind, entry.kind.value),
            ("opened", org.opened_on, entry.opened_on),
            ("parent", org.parent, entry.parent),
            ("postcode", org.postcode, entry.postcode),
            ("role", org.role, entry.role or org.role),
        )
        if old != new
    ]
    if others:
        changes.append(Change("updated", org.code, f"{entry.name}: {', '.join(others)}"))
    if changes:
        _copy(org, entry)
        org.updated_at = now
    return changes


def _kind_kept(entry: OrgEntry, role: str, kind: str) -> OrgKind:
    """The kind a role said (FHIR's RO319: a sub-ICB location) stands against one a file with
    no roles (a CSV report) guesses from the name: the role is kept, so is what it says."""
    return entry.kind if entry.role or not role else OrgKind(kind)


def _spelt(name: str) -> str:
    return " ".join(name.casefold().split())


def _copy(org: OdsOrganisation, entry: OrgEntry) -> None:
    org.kind = entry.kind.value
    org.opened_on, org.closed_on = entry.opened_on, entry.closed_on
    org.parent, org.postcode = entry.parent, entry.postcode
    org.role = entry.role or org.role


def succession_change(entry: SuccessionEntry) -> Change:
    when = f" from {uk(entry.effective_on)}" if entry.effective_on else ""
    return Change("succeeded", entry.old_code, f"{entry.old_code} → {entry.new_code}{when}")


def last_entries(files: Iterable[OdsFile]) -> tuple[list[OrgEntry], list[SuccessionEntry]]:
    """Every organisation once and every succession once: a later file wins, but what it does
    not say keeps what an earlier one said (a CSV report has no roles, a FHIR resource seldom
    a parent), as `merge_entry` does between imports, so one import of both settles too."""
    orgs: dict[str, OrgEntry] = {}
    successions: dict[tuple[str, str], SuccessionEntry] = {}
    for f in files:
        for e in f.organisations:
            seen = orgs.get(e.code)
            orgs[e.code] = e if seen is None else _joined(seen, e)
        for s in f.successions:
            had = successions.get((s.old_code, s.new_code))
            successions[(s.old_code, s.new_code)] = (
                s
                if had is None
                else replace(
                    s,
                    effective_on=s.effective_on or had.effective_on,
                    reason=s.reason or had.reason,
                    partial=s.partial and had.partial,
                )
            )
    return list(orgs.values()), list(successions.values())


def _joined(earlier: OrgEntry, later: OrgEntry) -> OrgEntry:
    return replace(
        later,
        kind=_kind_kept(later, earlier.role, earlier.kind.value),
        parent=later.parent or earlier.parent,
        postcode=later.postcode or earlier.postcode,
        role=later.role or earlier.role,
    )


# --- what validation reads --------------------------------------------------------------------


class OrganisationIndex(frozenset[str]):
    """The codes validation knows (config's and ODS's); once an ODS list has been imported it
    also holds ODS's record of each of its codes and their successions.

    A code ODS names only as succeeded (in succ.csv, not in any report imported: the reports
    drop organisations some years after they close) closed the day before its succession took
    effect: it gets a record saying so, with no name, so that validation names its successor
    and a relationship on it gets a review item, as for a closure a report gives."""

    records: Mapping[str, OdsOrganisation]
    successions: Mapping[str, tuple[Succession, ...]]
    listed: bool  # whether an ODS report was imported (successions alone list no codes)
    _named: Mapping[str, tuple[str, ...]] | None

    def __new__(
        cls,
        codes: Iterable[str],
        records: Sequence[OdsOrganisation] = (),
        successions: Sequence[Succession] = (),
    ) -> OrganisationIndex:
        by_old: dict[str, list[Succession]] = {}
        for s in successions:
            by_old.setdefault(s.old_code, []).append(s)
        known = {r.code: r for r in records}
        for code, mine in by_old.items():
            took_effect = max((s.effective_on for s in mine if s.effective_on), default=None)
            if code not in known and took_effect is not None and took_effect > date.min:
                known[code] = OdsOrganisation(code, "", closed_on=took_effect - timedelta(days=1))
        index = super().__new__(cls, [*codes, *known])
        index.records = known
        index.successions = {k: tuple(v) for k, v in by_old.items()}
        index.listed = bool(records)
        index._named = None
        return index

    def codes_named(self, name: str) -> tuple[str, ...]:
        """The codes whose name, or a former name, is `name` (as compared: `name_key`)."""
        if self._named is None:  # built once an index, when a form first names someone
            named: dict[str, list[str]] = {}
            for org in self.records.values():
                keys = {name_key(org.name), *(name_key(n["name"]) for n in org.former_names)}
                for key in keys - {""}:
                    named.setdefault(key, []).append(org.code)
            self._named = {key: tuple(codes) for key, codes in named.items()}
        return self._named.get(name_key(name), ())

    def current_successors(self, code: str, today: date) -> list[str]:
        """Where a closed code's work went, following successions until an open organisation
        (or one with no successor), without going round in circles."""
        found: list[str] = []
        seen = {code}
        todo = [s.new_code for s in self._latest(code)]
        while todo:
            nxt = todo.pop(0)
            if nxt in seen:
                continue
            seen.add(nxt)
            org = self.records.get(nxt)
            onward = [s.new_code for s in self._latest(nxt) if s.new_code not in seen]
            if org is not None and org.closed_by(today) and onward:
                todo.extend(onward)  # else the end of the known chain, even if it closed too
            elif nxt not in found:
                found.append(nxt)
        return found

    def direct_successors(self, code: str) -> list[str]:
        """The codes ODS names as `code`'s own successors (its newest succession), before any
        of them closed in turn: a carry may go one step at a time along a chain."""
        return list(dict.fromkeys(s.new_code for s in self._latest(code)))

    def _latest(self, code: str) -> list[Succession]:
        # A code merged twice over the years: its newest succession is the one that counts.
        mine = self.successions.get(code, ())
        newest = max((s.effective_on or date.min for s in mine), default=None)
        return [s for s in mine if (s.effective_on or date.min) == newest]

    def describe(self, code: str) -> str:
        org = self.records.get(code)
        return f"{code} ({org.name})" if org is not None and org.name else code


def ods_listed(known: frozenset[str]) -> bool:
    """Whether `known` comes with an imported ODS list (else: config/'s codes only)."""
    return isinstance(known, OrganisationIndex) and known.listed


def successor_phrase(index: OrganisationIndex, code: str, today: date) -> str:
    """ "its successor is 15F (NHS West Yorkshire ICB - 15F)", or "ODS names no successor"."""
    successors = index.current_successors(code, today)
    if not successors:
        return "ODS names no successor"
    named = " and ".join(index.describe(s) for s in successors)
    return f"its successor{'s are' if len(successors) > 1 else ' is'} {named}"
