"""FHIR R4 Organization resources from the ODS Organisation Data Terminology API (JSON): one
resource, a Bundle of them (a search result), or a list.

What is read: the ODS code (identifier, system https://fhir.nhs.uk/Id/ods-organization-code),
name, active, the Extension-England-TypedPeriod dates (Operational preferred to Legal), the roles
(Extension-England-OrganisationRole roleCode, primaryRole; or `type`), partOf, the postcode, and
successions (an extension whose type is Successor and whose target is an ODS code).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from intake_bot.domain.organisations import OdsError, OdsFile, OrgEntry, SuccessionEntry
from intake_bot.domain.printable import clean_line
from intake_bot.ods.kinds import kind_of, kind_of_roles

FHIR = "FHIR Organization (JSON)"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
MAX_RESOURCES = 100_000

Json = Mapping[str, Any]


def read_fhir(name: str, text: str) -> OdsFile:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise OdsError(f"{name}: not JSON ({str(exc)[:200]})") from None
    orgs: list[OrgEntry] = []
    successions: list[SuccessionEntry] = []
    for number, resource in enumerate(_resources(name, document), start=1):
        if number > MAX_RESOURCES:
            raise OdsError(f"{name}: more than {MAX_RESOURCES:,} resources")
        try:
            entry = _organisation(resource)
            orgs.append(entry)
            successions.extend(_successions(resource, entry.code))
        except (ValueError, TypeError, AttributeError) as exc:
            raise OdsError(f"{name}: Organization {number}: {exc}") from None
    if not orgs:
        raise OdsError(f"{name}: no FHIR Organization resources in it")
    return OdsFile(name, FHIR, tuple(orgs), tuple(successions))


def _resources(name: str, document: object) -> Iterator[Json]:
    items = document if isinstance(document, list) else [document]
    for item in items:
        if not isinstance(item, dict):
            raise OdsError(f"{name}: expected FHIR resources (JSON objects)")
        kind = item.get("resourceType")
        if kind == "Bundle":
            entries = item.get("entry")
            for entry in entries if isinstance(entries, list) else []:
                resource = entry.get("resource") if isinstance(entry, dict) else None
                if isinstance(resource, dict) and resource.get("resourceType") == "Organization":
                    yield resource
        elif kind == "Organization":
            yield item
        else:
            raise OdsError(f"{name}: a {str(kind)[:40]!r} resource; expected Organization")


def _organisation(resource: Json) -> OrgEntry:
    code = _ods_code(resource.get("identifier"))
    name = clean_line(str(resource.get("name") or "")).strip()
    if not name:
        raise ValueError(f"{code} has no name")
    extensions = _list(resource.get("extension"))
    opened, closed = _period(extensions)
    if resource.get("active") is False and closed is None:
        raise ValueError(f"{code} is inactive but gives no end date")
    roles = _roles(resource, extensions)
    found = kind_of_roles(roles)
    role, kind = found if found else ("", kind_of(code, name, closed_on=closed))
    return OrgEntry(
        code=code,
        name=name[:400],
        kind=kind,
        opened_on=opened,
        closed_on=closed,
        parent=_part_of(resource.get("partOf")),
        postcode=_postcode(resource.get("address")),
        role=role,
    )


def _list(value: object) -> list[Json]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _ods_code(identifiers: object) -> str:
    for identifier in _list(identifiers):
        if identifier.get("system") == ODS_SYSTEM and isinstance(identifier.get("value"), str):
            code = str(identifier["value"]).strip().upper()
            if 3 <= len(code) <= 10 and code.isalnum():
                return code
            raise ValueError(f"identifier {code[:40]!r} is not an ODS code")
    raise ValueError(f"no identifier with the system {ODS_SYSTEM}")


def _url_is(ext: Json, name: str) -> bool:
    return str(ext.get("url", "")).rsplit("/", 1)[-1] == name


def _period(extensions: list[Json]) -> tuple[date | None, date | None]:
    """Open and close dates: the Operational period's, each date the Legal one's where the
    Operational period lacks it (an organisation closed in law is closed, whatever its operational
    end says), else an older ActivePeriod extension's."""
    periods: dict[str, Json] = {}
    for ext in extensions:
        if _url_is(ext, "Extension-England-TypedPeriod"):
            parts = {str(p.get("url")): p for p in _list(ext.get("extension"))}
            kind = str((parts.get("dateType") or {}).get("valueCoding", {}).get("code", ""))
            periods[kind] = (parts.get("period") or {}).get("valuePeriod") or {}
        elif "ActivePeriod" in str(ext.get("url", "")):
            periods.setdefault("Active", ext.get("valuePeriod") or {})
    order = [periods[k] for k in ("Operational", "Legal", "Active") if k in periods]
    start = next((p["start"] for p in order if p.get("start") is not None), None)
    end = next((p["end"] for p in order if p.get("end") is not None), None)
    return _date(start), _date(end)


def _date(value: object) -> date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"date {str(value)[:40]!r} is not text")
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise ValueError(f"date {value[:40]!r} is not YYYY-MM-DD") from None


def _roles(resource: Json, extensions: list[Json]) -> list[str]:
    """Role codes, the active non-primary ones first (an ICB is a strategic partnership by its
    primary role, an ICB by its non-primary one), then the primary, then `type`."""
    active, primary = [], []
    for ext in extensions:
        if not _url_is(ext, "Extension-England-OrganisationRole"):
            continue
        parts = {str(p.get("url")): p for p in _list(ext.get("extension"))}
        codings = _list((parts.get("roleCode") or {}).get("valueCodeableConcept", {}).get("coding"))
        codes = [str(c.get("code", "")) for c in codings]
        if (parts.get("primaryRole") or {}).get("valueBoolean") is True:
            primary.extend(codes)
        elif (parts.get("active") or {}).get("valueBoolean", True) is not False:
            active.extend(codes)
    typed = [
        str(c.get("code", "")) for t in _list(resource.get("type")) for c in _list(t.get("coding"))
    ]
    return [*active, *primary, *typed]


def _part_of(value: object) -> str | None:
    if not isinstance(value, dict):
        return None
    identifier = value.get("identifier")
    if isinstance(identifier, dict) and isinstance(identifier.get("value"), str):
        return identifier["value"].strip().upper()[:10] or None
    reference = value.get("reference")
    if isinstance(reference, str) and reference.startswith("Organization/"):
        return reference.split("/", 1)[1].strip().upper()[:10] or None
    return None


def _postcode(addresses: object) -> str:
    for address in _list(addresses):
        if isinstance(address.get("postalCode"), str):
            return str(address["postalCode"]).strip()[:10]
    return ""


def _successions(resource: Json, code: str) -> Iterator[SuccessionEntry]:
    for ext in _list(resource.get("extension")):
        if "Succession" not in str(ext.get("url", "")):
            continue
        parts = {str(p.get("url")): p for p in _list(ext.get("extension"))}
        kind = str((parts.get("type") or {}).get("valueCoding", {}).get("code", ""))
        if kind.casefold() != "successor":
            continue
        target = (parts.get("target") or {}).get("valueIdentifier") or {}
        new_code = str(target.get("value", "")).strip().upper()
        if not new_code or new_code == code:
            raise ValueError(f"{code}: a successor without a code of its own")
        when = (parts.get("period") or {}).get("valuePeriod", {}).get("start")
        when = when or (parts.get("effectiveDate") or {}).get("valueDate")
        yield SuccessionEntry(code, new_code[:10], _date(when), "successor (FHIR)")
