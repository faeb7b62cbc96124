"""FHIR R4 Organization resources from the ODS Organisation Data Terminology API (JSON): one
resource, a Bundle of them (a search result), or a list (such as every page of a paged search).

What is read: the ODS code (identifier, system https://fhir.nhs.uk/Id/ods-organization-code),
name, active, the Extension-England-TypedPeriod dates (Operational preferred to Legal; those of its
roles when the record dates only them), the roles
(Extension-England-OrganisationRole roleCode, primaryRole; or `type`), partOf, the postcode, and
successions (an extension whose type is Successor, or Predecessor on the new organisation's
record, and whose target is an ODS code).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from intake_bot.domain.organisations import (
    EARLIEST,
    OdsError,
    OdsFile,
    OrgEntry,
    SuccessionEntry,
)
from intake_bot.domain.printable import clean_line
from intake_bot.ods.kinds import kind_of, kind_of_roles, ods_code

FHIR = "FHIR Organization (JSON)"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
MAX_RESOURCES = 100_000
_TYPED = "Extension-England-TypedPeriod"
MAX_NODES = 6_000_000

Json = Mapping[str, Any]


def read_fhir(name: str, text: str, today: date | None = None) -> OdsFile:
    """The organisations and successions in `text` (see `read_fhir_document`)."""
    return read_fhir_document(name, load_json(name, text), today)


def load_json(name: str, text: str) -> object:
    """`text` as JSON, within bounds; OdsError naming the file otherwise."""
    # Memory: json.loads builds every value before any resource is counted. An Organization
    # has a few dozen objects, lists and texts; this many is far past the most resources read.
    # Values are counted by their texts or, where numbers outnumber them, by the commas that
    # separate values (a file of numbers alone has no texts to count).
    values = max(text.count('"') // 2, text.count(","))
    nodes = text.count("{") + text.count("[") + values
    if nodes > MAX_NODES:
        raise OdsError(f"{name}: more than {MAX_NODES:,} JSON values; not ODS's")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise OdsError(f"{name}: not JSON ({str(exc)[:200]})") from None


def read_fhir_document(name: str, document: object, today: date | None = None) -> OdsFile:
    """The organisations and successions in a JSON document. A legal end is told passed or
    still ahead (see `_period`) as of the day the record says it was written (meta.lastUpdated,
    else the Bundle's timestamp), else `today` (the day the file is read, by default): the same
    file reads the same whenever it is imported."""
    today = today or date.today()
    items = document if isinstance(document, list) else [document]
    orgs: list[OrgEntry] = []
    successions: list[SuccessionEntry] = []
    left_out: list[str] = []
    for number, (resource, stamped) in enumerate(_resources(name, items), start=1):
        if number > MAX_RESOURCES:
            raise OdsError(f"{name}: more than {MAX_RESOURCES:,} resources")
        try:
            meta = resource.get("meta")
            written = _day_of(meta.get("lastUpdated")) if isinstance(meta, dict) else None
            entry = _organisation(resource, written or stamped or today)
            orgs.append(entry)
            successions.extend(_successions(resource, entry.code))
        except _UndatedClosureError as exc:  # one odd record does not hold up the rest
            left_out.append(f"Organization {number}: {exc}")
        except ValueError as exc:
            raise OdsError(f"{name}: Organization {number}: {exc}") from None
        except (TypeError, AttributeError):  # a value of another JSON type than FHIR gives it
            where = f"{name}: Organization {number}"
            raise OdsError(f"{where}: not shaped as FHIR R4 gives it: {_SHAPES}") from None
    _check_every_page(name, items, len(orgs) + len(left_out))
    if not orgs and left_out:
        raise OdsError(
            f"{name}: none of its {len(left_out):,} Organizations can be used: {left_out[0]}"
        )
    if not orgs:
        raise OdsError(f"{name}: no FHIR Organization resources in it")
    return OdsFile(name, FHIR, tuple(orgs), tuple(successions), tuple(left_out))


class _UndatedClosureError(ValueError):
    """A record that says it is closed but not when: an archived ("RefOnly") record, say."""


_SHAPES = "a text, a number or a list where an object belongs (or the reverse)"


def _check_every_page(name: str, items: list[object], read: int) -> None:
    """A search result comes in pages. The reader has no way to report a partial file other than
    refusing it, and one page alone would leave organisations out unseen; the pages joined in one
    JSON list (as this reader takes them) make a whole."""
    bundles = [i for i in items if isinstance(i, dict) and i.get("resourceType") == "Bundle"]
    totals = [t for b in bundles if type(t := b.get("total")) is int]
    paged = bool(bundles) and all(_links_onward(b) for b in bundles)
    if totals and max(totals) > read:
        found = f"holds {read:,} of the {max(totals):,} organisations its search found"
    elif paged and not totals:
        found = "links to a next page"
    else:
        return
    raise OdsError(
        f"{name}: {found}: it is one page of a paged search. Download every page and import "
        "them joined as one JSON list (jq -s . page*.json > all.json), or ask for all in one "
        "page (_count)"
    )


def _links_onward(bundle: Json) -> bool:
    return any(link.get("relation") == "next" for link in _list(bundle.get("link")))


def _resources(name: str, items: list[object]) -> Iterator[tuple[Json, date | None]]:
    """Each Organization, with the day its Bundle was put together (its timestamp), if any."""
    for item in items:
        if not isinstance(item, dict):
            raise OdsError(f"{name}: expected FHIR resources (JSON objects)")
        kind = item.get("resourceType")
        if kind == "Bundle":
            stamped = _day_of(item.get("timestamp"))
            entries = item.get("entry", [])
            if not isinstance(entries, list):
                raise OdsError(f"{name}: a Bundle whose entry is not a list")
            for number, entry in enumerate(entries, start=1):
                resource = entry.get("resource") if isinstance(entry, dict) else None
                if not isinstance(resource, dict):
                    raise OdsError(f"{name}: Bundle entry {number} holds no resource")
                inner = resource.get("resourceType")
                if inner == "Organization":
                    yield resource, stamped
                elif _included(entry):  # _include/_revinclude: an affiliation, not a result
                    continue
                elif inner != "OperationOutcome":  # a search's own notes, beside its results
                    raise OdsError(f"{name}: Bundle entry {number}: {_kind(inner)}")
        elif kind == "Organization":
            yield item, None
        else:
            raise OdsError(f"{name}: {_kind(kind)}")


def _included(entry: Json) -> bool:
    search = entry.get("search")
    return isinstance(search, dict) and search.get("mode") == "include"


def _kind(kind: object) -> str:
    if kind is None:
        return "a resource with no resourceType; expected Organization"
    return f"a resource of type {str(kind)[:40]!r}; expected Organization"


def _organisation(resource: Json, today: date) -> OrgEntry:
    code = _ods_code(resource.get("identifier"))
    name = resource.get("name")
    if name is not None and not isinstance(name, str):
        raise ValueError(f"{code}: its name is not text ({_shape(name)})")
    name = clean_line(name or "").strip()
    if not name:
        raise ValueError(f"{code} has no name")
    extensions = _list(resource.get("extension"))
    operating = resource.get("active") is True
    opened, closed = _period(extensions, operating=operating, today=today)
    if opened is None and closed is None:  # the record dates its roles only
        opened, closed = _role_period(extensions, operating=operating, today=today)
    if resource.get("active") is False and closed is None:
        raise _UndatedClosureError(f"{code} is inactive but gives no end date")
    roles = _roles(resource, extensions, closed, today)
    found = kind_of_roles(roles)
    role, kind = found if found else ("", kind_of(code, name, closed_on=closed))
    return OrgEntry(
        code=code,
        name=name[:400],
        kind=kind,
        opened_on=opened,
        closed_on=closed,
        parent=_part_of(resource.get("partOf"), code),
        postcode=_postcode(resource.get("address")),
        role=role,
    )


def _list(value: object) -> list[Json]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _ods_code(identifiers: object) -> str:
    for identifier in _list(identifiers):
        if identifier.get("system") == ODS_SYSTEM and isinstance(identifier.get("value"), str):
            return ods_code(identifier["value"], "identifier")
    raise ValueError(f"no identifier with the system {ODS_SYSTEM}")


def _shape(value: object) -> str:
    return f"{type(value).__name__} {str(value)[:40]!r}"


def _url_is(ext: Json, name: str) -> bool:
    return str(ext.get("url", "")).rsplit("/", 1)[-1] == name


def _period(
    extensions: list[Json], *, operating: bool, today: date
) -> tuple[date | None, date | None]:
    """Open and close dates: the Operational period's, each date the Legal one's where the
    Operational period lacks it (an organisation closed in law is closed, whatever its operational
    end says), else an older ActivePeriod extension's.

    One exception: a legal end that has passed, on a record that says it is active and whose
    Operational period is open. ODS keeps such records open in operation (the CCGs abolished in
    law on 30 June 2022 kept their codes as sub-ICB locations), and the CSV reports list them
    open: closing them would close every sub-ICB location, and flip at each import of the two."""
    periods: dict[str, Json] = {}
    for ext in extensions:
        if _url_is(ext, _TYPED):
            kind, period = _typed_period(ext)
            periods[kind] = period
        elif "ActivePeriod" in str(ext.get("url", "")):
            periods.setdefault("Active", ext.get("valuePeriod") or {})
    order = [periods[k] for k in ("Operational", "Legal", "Active") if k in periods]
    start = next((p["start"] for p in order if p.get("start") is not None), None)
    end = next((p["end"] for p in order if p.get("end") is not None), None)
    opened, closed = _date(start), _date(end)
    open_in_operation = "Operational" in periods and periods["Operational"].get("end") is None
    if operating and open_in_operation and closed is not None and closed < today:
        closed = None
    return opened, closed


def _role_period(
    extensions: list[Json], *, operating: bool, today: date
) -> tuple[date | None, date | None]:
    """For a record whose dates are on its roles alone: open from its first role's start, and
    closed only once every role has ended, on the last role's end (each role's dates read as
    `_period` reads the organisation's)."""
    spans = []
    for ext in extensions:
        if not _url_is(ext, "Extension-England-OrganisationRole"):
            continue
        parts = _list(ext.get("extension"))
        span = _period(parts, operating=operating, today=today)
        if span == (None, None) and _role_active(parts) is False:
            continue  # ended, undated: says nothing of when the organisation closed
        spans.append(span)  # an undated role still held keeps the organisation open
    if all(span == (None, None) for span in spans):
        return None, None
    starts = [start for start, _ in spans if start is not None]
    ends = [end for _, end in spans]
    closed = None if None in ends else max(e for e in ends if e is not None)
    return (min(starts) if starts else None), closed


def _role_active(parts: list[Json]) -> object:
    return next((p.get("valueBoolean") for p in parts if p.get("url") == "active"), None)


def _typed_period(ext: Json) -> tuple[str, Json]:
    """An Extension-England-TypedPeriod's date type (Legal, Operational) and its period."""
    parts = {str(p.get("url")): p for p in _list(ext.get("extension"))}
    kind = str((parts.get("dateType") or {}).get("valueCoding", {}).get("code", ""))
    return kind, (parts.get("period") or {}).get("valuePeriod") or {}


def _day_of(value: object) -> date | None:
    """The day of a FHIR instant ("2026-04-02T10:00:00+00:00"); None for anything else."""
    try:
        return date.fromisoformat(value[:10]) if isinstance(value, str) else None
    except ValueError:
        return None


def _date(value: object) -> date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"date {str(value)[:40]!r} is not text")
    try:
        found = date.fromisoformat(value[:10])
    except ValueError:
        raise ValueError(f"date {value[:40]!r} is not YYYY-MM-DD") from None
    if found < EARLIEST:
        raise ValueError(f"date {value[:40]!r} is before any organisation ODS lists")
    return found


def _roles(resource: Json, extensions: list[Json], closed: date | None, today: date) -> list[str]:
    """Role codes, the active non-primary ones first (an ICB is a strategic partnership by its
    primary role, an ICB by its non-primary one), then the primary, then `type`. A closed
    organisation's roles ended with it: those held until its closure count as active, so that
    a sub-ICB location closed in 2026 stays one (its RO319 role, not the CCG role RO98), as the
    CSV reports list it."""
    active, primary = [], []
    for ext in extensions:
        if not _url_is(ext, "Extension-England-OrganisationRole"):
            continue
        listed = _list(ext.get("extension"))
        parts = {str(p.get("url")): p for p in listed}
        codings = _list((parts.get("roleCode") or {}).get("valueCodeableConcept", {}).get("coding"))
        codes = [str(c.get("code", "")) for c in codings]
        if (parts.get("primaryRole") or {}).get("valueBoolean") is True:
            primary.extend(codes)
        elif (parts.get("active") or {}).get("valueBoolean", True) is not False:
            active.extend(codes)
        elif closed is not None:
            ended = _period(listed, operating=False, today=today)[1]
            if ended is None or ended >= closed:
                active.extend(codes)
    typed = [
        str(c.get("code", "")) for t in _list(resource.get("type")) for c in _list(t.get("coding"))
    ]
    return [*active, *primary, *typed]


def _part_of(value: object, code: str) -> str | None:
    """The parent's ODS code, from partOf's identifier or its reference (Organization/CODE).
    A parent that is not a code is refused: a CSV report's parent columns fall back on one
    another, but partOf is the only word a resource has on where it sits."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"{code}: partOf is not a reference ({_shape(value)})")
    identifier = value.get("identifier")
    if isinstance(identifier, dict) and identifier.get("value") is not None:
        parent = identifier["value"]
    elif isinstance(value.get("reference"), str):
        # Organization/CODE, absolute or versioned (Organization/CODE/_history/2)
        parent = value["reference"].split("/_history/", 1)[0].rsplit("Organization/", 1)[-1]
    else:
        return None  # a display name only
    if not isinstance(parent, str):
        raise ValueError(f"{code}: partOf {_shape(parent)} is not an ODS code")
    return ods_code(parent, f"{code}: partOf")


def _postcode(addresses: object) -> str:
    for address in _list(addresses):
        if isinstance(address.get("postalCode"), str):
            return clean_line(str(address["postalCode"])).strip()[:10]
    return ""


def _typed_start(ext: Json) -> object:
    """A succession dated by a nested TypedPeriod: its start, the Legal one before others."""
    periods = dict(_typed_period(p) for p in _list(ext.get("extension")) if _url_is(p, _TYPED))
    found = [periods[k] for k in ("Legal", "Operational") if k in periods] + list(periods.values())
    return next((p["start"] for p in found if p.get("start") is not None), None)


def _successions(resource: Json, code: str) -> Iterator[SuccessionEntry]:
    for ext in _list(resource.get("extension")):
        if "Succession" not in str(ext.get("url", "")):
            continue
        parts = {str(p.get("url")): p for p in _list(ext.get("extension"))}
        kind = str((parts.get("type") or {}).get("valueCoding", {}).get("code", "")).casefold()
        if kind not in ("successor", "predecessor"):
            continue
        other = ods_code(_target_code(parts.get("target")), f"{code}: {kind}")
        if other == code:
            raise ValueError(f"{code} is named as its own {kind}")
        when = (parts.get("period") or {}).get("valuePeriod", {}).get("start")
        when = when or (parts.get("effectiveDate") or {}).get("valueDate")
        when = when or _typed_start(ext)
        # ODS keeps a succession on both records: the old one names its successor, the new
        # one its predecessor (a bundle of today's ICBs holds only the latter).
        if kind == "successor":
            yield SuccessionEntry(code, other, _date(when), "")  # FHIR gives no reason
        else:
            yield SuccessionEntry(other, code, _date(when), "", partial=True)


def _target_code(target: object) -> str:
    """The ODS code a succession names: as an Identifier, or a Reference carrying one or
    pointing at the organisation (`Organization/QX1`, `…/Organization/QX1/_history/2?x=y`)."""
    if not isinstance(target, dict):
        return ""
    for holder in (target, target.get("valueReference")):
        if not isinstance(holder, dict):
            continue
        identifier = holder.get("valueIdentifier", holder.get("identifier"))
        if isinstance(identifier, dict) and identifier.get("value"):
            return str(identifier["value"])
        path = str(holder.get("reference") or "").split("?", 1)[0].split("#", 1)[0].split("/")
        if "Organization" in path[:-1]:
            return path[path.index("Organization") + 1]
    return ""
