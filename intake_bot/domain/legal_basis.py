"""The one rule for "legal basis expired". Pure: no I/O.

A relationship (or a request) relies on the section 251 (CAG) approvals its values name in
`s251_references`. From an approval's expiry day on, whatever relies on it shows "legal basis
expired": the queue, the register and its export, `request show`, approval of a request, and the
reminders all ask `legal_basis_expired`, so they never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Protocol

from intake_bot.domain.approvals import has_expired, parse_cag_refs
from intake_bot.domain.register import stored_list


class Expiring(Protocol):
    """An approval as this rule needs it (a record, or the domain's `Approval`)."""

    @property
    def reference(self) -> str: ...

    @property
    def expires(self) -> date: ...


def approvals_relied_on(values: Mapping[str, object]) -> list[str]:
    """The approvals a relationship's (or a request's) values rely on, as canonical references
    (`CAG 7-04(a)/2013`), each once, in form order. Text that is no reference is kept as it is."""
    found: list[str] = []
    for item in stored_list(values.get("s251_references")):
        for ref in parse_cag_refs(item).refs or [item]:
            if ref not in found:
                found.append(ref)
    return found


def legal_basis_expired(
    relied_on: Iterable[str], approvals: Iterable[Expiring], on: date
) -> list[str]:
    """The approvals among `relied_on` (canonical references) whose expiry day has come by `on`.

    Non-empty means "legal basis expired". `approvals` is the register (or any part of it that
    holds the references relied on); a reference not on it is not reported here (intake reports
    unknown references). For a relationship that takes effect later, pass its effective date as
    `on`: a non-empty answer then warns that it would start without a legal basis.
    """
    expired = {a.reference for a in approvals if has_expired(on, a.expires)}
    return [ref for ref in dict.fromkeys(relied_on) if ref in expired]
