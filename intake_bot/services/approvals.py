"""The register of section 251 (CAG) approvals: listing, adding and extending them, and the
relationships that rely on each.

A relationship relies on the approvals its current version names (`s251_references`, canonical
references such as `CAG 7-04(a)/2013`). Extending an approval moves its expiry date and keeps the
old one in its history; reminders are keyed by expiry date, so the new date starts a fresh
schedule (see services/reminders.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from intake_bot.domain import values as v
from intake_bot.domain.approvals import (
    ApprovalError,
    ApprovalListing,
    Extension,
    has_expired,
    parse_cag_refs,
)
from intake_bot.domain.legal_basis import approvals_relied_on
from intake_bot.domain.records import (
    Approval,
    ApprovalExtension,
    Event,
    Relationship,
    RelationshipVersion,
)
from intake_bot.domain.reminders import days_left
from intake_bot.ports import DuplicateError, Store, Unit

ACTION = "s251"  # the audit events of the approvals register
Relying = tuple[Relationship, RelationshipVersion]


def canonical_reference(text: str) -> str:
    """The one canonical reference `text` names (`7-04 (a)/2013` → `CAG 7-04(a)/2013`).

    Raises ApprovalError for text that names no reference, or several.
    """
    parsed = parse_cag_refs(text)
    if parsed.unparsed or len(parsed.refs) != 1:
        raise ApprovalError(
            f"{text.strip()!r} is not one CAG reference; expected e.g. CAG 7-04(a)/2013"
        )
    return parsed.refs[0]


def relying_on_each(unit: Unit, today: date) -> dict[str, list[Relying]]:
    """The relationships in force on `today` relying on each approval, by canonical reference.

    One query for the whole register: the references live in each version's JSON values, which
    SQLite and PostgreSQL query differently, so they are matched here rather than in SQL.
    """
    index: dict[str, list[Relying]] = {}
    for rel, version in unit.register.active_with_current(today):
        for ref in approvals_relied_on(version.values):
            index.setdefault(ref, []).append((rel, version))
    return index


def relationships_relying_on(unit: Unit, reference: str, *, today: date) -> list[Relying]:
    """The relationships in force on `today` whose current version names `reference`."""
    return relying_on_each(unit, today).get(canonical_reference(reference), [])


def list_approvals(store: Store, *, today: date) -> list[ApprovalListing]:
    """Every approval on the register, by reference, as on `today`."""
    with store.unit() as unit:
        relying = relying_on_each(unit, today)
        return [
            ApprovalListing(
                reference=a.reference,
                title=a.title,
                purposes=tuple(a.purposes),
                expires=a.expires,
                days_left=days_left(today, a.expires),
                expired=has_expired(today, a.expires),
                relationships=tuple(rel.reference for rel, _ in relying.get(a.reference, [])),
                extensions=tuple(_extension(e) for e in unit.reference.extensions(a.reference)),
            )
            for a in unit.reference.approvals()
        ]


def add_approval(
    store: Store,
    *,
    reference: str,
    title: str,
    purposes: Sequence[str],
    expires: date,
    by: str,
    now: datetime,
) -> str:
    """Put a new approval on the register; returns its canonical reference.

    Purposes are the form's purposes (by label or alias). Raises ApprovalError for a reference
    that is not one CAG reference, one already on the register, no title, or unknown purposes.
    """
    ref = canonical_reference(reference)
    if not title.strip():
        raise ApprovalError(f"{ref}: a title is needed")
    chosen = _purposes(ref, purposes)
    try:
        with store.unit() as unit:
            if unit.reference.approval(ref) is not None:
                raise ApprovalError(f"{ref} is already on the register")
            unit.add(Approval(reference=ref, title=title.strip(), purposes=chosen, expires=expires))
            _event(unit, now, by, f"{ref} added, expires {expires:%d/%m/%Y}")
    except DuplicateError as exc:  # added by someone else between our check and our commit
        raise ApprovalError(f"{ref} is already on the register") from exc
    return ref


def extend_approval(
    store: Store, reference: str, *, until: date, note: str = "", by: str, now: datetime
) -> Extension:
    """Move an approval's expiry date to `until`, keeping the old date in its history.

    Reminders follow the new date from the next run. Raises ApprovalError for an approval not
    on the register, or a date that is not later than the current expiry.
    """
    ref = canonical_reference(reference)
    with store.unit() as unit:
        approval = unit.reference.approval(ref)
        if approval is None:
            raise ApprovalError(f"{ref} is not on the register")
        if until <= approval.expires:
            raise ApprovalError(
                f"{ref} already runs to {approval.expires:%d/%m/%Y}; "
                f"an extension must end later than that, not on {until:%d/%m/%Y}"
            )
        extension = ApprovalExtension(
            reference=ref,
            previous_expiry=approval.expires,
            new_expiry=until,
            note=note.strip(),
            by=by,
            at=now,
        )
        unit.add(extension)
        approval.expires = until
        text = f"{ref} extended from {extension.previous_expiry:%d/%m/%Y} to {until:%d/%m/%Y}"
        _event(unit, now, by, f"{text}: {extension.note}" if extension.note else text)
    return _extension(extension)


def _purposes(ref: str, purposes: Sequence[str]) -> list[str]:
    try:
        return v.parse_purposes("; ".join(purposes))
    except v.ValueProblem as problem:
        found = f" ({problem.found})" if problem.found else ""
        raise ApprovalError(f"{ref}: purposes must be {problem.expected}{found}") from problem


def _extension(row: ApprovalExtension) -> Extension:
    return Extension(row.previous_expiry, row.new_expiry, row.note, row.by, row.at)


def _event(unit: Unit, now: datetime, actor: str, note: str) -> None:
    unit.add(Event(at=now, actor=actor or "intake-bot", action=ACTION, note=note))
