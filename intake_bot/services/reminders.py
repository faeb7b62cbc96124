"""Reminders before section 251 (CAG) approvals expire, and what happens on the expiry day.

Every run (daily, and `intake-bot s251 remind`) does three things, each safe to repeat:

1. For each approval and each relationship in force that relies on it, the one reminder due
   today (domain/reminders.py: the most recent offset reached, or the expiry notice) is emailed
   to the relationship's requester and authoriser. Relationships with the same approval, the
   same reminder and the same addresses share one email. The ReminderSent rows are written in
   the transaction that queues the email: their unique constraint (approval, relationship,
   expiry, offset) makes a second send impossible, even for two workers racing.
2. On (or, after downtime, on the first run after) an approval's expiry day, each regional office
   whose relationships rely on it gets one alert (StaffAlert "expired:<ref>:<expiry>:<office>").
   From that day those relationships show "legal basis expired": see `legal_basis_expired` and
   `expired_references`, for the queue, the register export and `request show`.
3. Each regional office gets one summary a day of the reminders sent for its relationships that
   day (StaffAlert "reminder-summary:<office>:<date>"), read back from the ReminderSent rows so
   that a run that crashed half way is still summarised in full by the next one.

Reminders are keyed by expiry date: an extension starts a fresh schedule for the new date, and the
old date's pending reminders, expiry notice and staff alert never go out. A relationship whose
DSCRO is no configured office is still reminded, but no staff hear of it (`unrouted` in the report).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from intake_bot.config import Dscro
from intake_bot.domain.register import stored_list, stored_text
from intake_bot.domain.reminders import EXPIRY_NOTICE, days_left, due_offset
from intake_bot.services.approvals import Relying, references_in, relying_on_each
from intake_bot.services.digests import find_office
from intake_bot.services.notify import Notifier
from intake_bot.store import approvals as queries
from intake_bot.store.register import current_version
from intake_bot.store.store import DuplicateError, Store, Unit
from intake_bot.domain.records import Approval, Relationship, ReminderSent, StaffAlert

log = logging.getLogger(__name__)

REMINDER_KIND = "s251_reminder"  # templates/email/s251_reminder.*
SUMMARY_KIND = "s251_staff_summary"
EXPIRED_KIND = "s251_expired"
_CONTACTS = (("requester_email", "requester_name"), ("authoriser_email", "authoriser_name"))


# --- the flag: "legal basis expired" ------------------------------------------------------------


def expired_references(unit: Unit, today: date) -> set[str]:
    """The approvals whose expiry day has come by `today` (England), as canonical references.

    For listings of many relationships or requests (the queue, the register export): fetch this
    once, then `expired_in(values, expired)` for each one's values.
    """
    return {a.reference for a in queries.expired_approvals(unit, today)}


def expired_in(values: Mapping[str, object], expired: set[str]) -> list[str]:
    """The references among `values["s251_references"]` that are in `expired`, in form order."""
    return [ref for ref in references_in(values) if ref in expired]


def legal_basis_expired(unit: Unit, relationship: Relationship, today: date) -> list[str]:
    """The approvals `relationship` relies on (in its current version) whose expiry day has come.

    Non-empty means the relationship is to be shown as "legal basis expired", from the expiry
    day on, the day staff are alerted. It says nothing of whether the relationship is in force.
    """
    values = current_version(unit, relationship).values
    return expired_in(values, expired_references(unit, today))


# --- the report ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SentReminder:
    """One reminder email (or, without addresses, one recorded reminder) of this run."""

    reference: str  # the approval
    expiry: date
    offset_days: int  # days before expiry; 0 for the expiry notice
    relationships: tuple[str, ...]  # LCR references
    recipients: tuple[str, ...]  # empty: no address on the register, so nobody was emailed


@dataclass
class ReminderReport:
    """What one run did."""

    day: date
    sent: list[SentReminder] = field(default_factory=list)
    already_sent: int = 0  # reminders another worker recorded first
    expiry_alerts: list[str] = field(default_factory=list)  # StaffAlert keys written
    summaries: dict[str, int] = field(default_factory=dict)  # office → reminders listed
    unrouted: list[str] = field(default_factory=list)  # relationships of no configured office

    @property
    def emails(self) -> int:
        return sum(1 for s in self.sent if s.recipients)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["day"] = self.day.isoformat()
        for item in data["sent"]:
            item["expiry"] = item["expiry"].isoformat()
        return data


# --- the job ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Due:
    """Reminders due today for relationships that share an approval, an offset and addresses."""

    approval: Approval
    offset: int
    recipients: tuple[str, ...]
    relying: tuple[Relying, ...]


def send_reminders(
    *,
    store: Store,
    notifier: Notifier,
    offices: Sequence[Dscro],
    offsets: Sequence[int],
    now: datetime,
    tz: str = "Europe/London",
) -> ReminderReport:
    """Queue today's reminders, expiry alerts and office summaries; see the module docstring.

    `offsets` are the days before expiry to remind at; `now` is aware, and the day is taken in
    `tz`. One transaction per reminder email; safe to run again, by any worker, at any time.
    """
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    report = ReminderReport(day=today)
    with store.unit() as unit:
        dues, relying = _plan(unit, today, offsets)
    for due in dues:
        _send_due(store, notifier, due, now, report)
    _alert_expired(store, notifier, offices, relying, now, report)
    _send_summaries(store, notifier, offices, relying, now, zone, report)
    report.unrouted = _unrouted(relying, offices)
    log.info(
        "s251 reminders for %s: %d emails, %d already sent, %d expiry alerts, %d summaries, "
        "%d relationships of no configured office",
        today.isoformat(),
        report.emails,
        report.already_sent,
        len(report.expiry_alerts),
        len(report.summaries),
        len(report.unrouted),
    )
    return report


def _plan(
    unit: Unit, today: date, offsets: Sequence[int]
) -> tuple[list[_Due], dict[str, list[Relying]]]:
    """The reminders due today, grouped into emails; and who relies on each approval."""
    relying = relying_on_each(unit, today)
    dues: list[_Due] = []
    for approval in unit.approvals():
        sent = queries.reminders_sent(unit, approval.reference, approval.expires)
        groups: dict[tuple[int, tuple[str, ...]], list[Relying]] = {}
        for rel, version in relying.get(approval.reference, []):
            assert rel.id is not None
            offset = due_offset(today, approval.expires, offsets, sent.get(rel.id, set()))
            if offset is not None:
                key = (offset, _recipients(version.values))
                groups.setdefault(key, []).append((rel, version))
        dues += [
            _Due(approval, offset, recipients, tuple(items))
            for (offset, recipients), items in groups.items()
        ]
    return dues, relying


def _recipients(values: Mapping[str, object]) -> tuple[str, ...]:
    """The requester and the authoriser, each once (compared without regard to case)."""
    found: list[str] = []
    for key, _name in _CONTACTS:
        address = stored_text(values.get(key))
        if address and address.casefold() not in (a.casefold() for a in found):
            found.append(address)
    return tuple(found)


def _send_due(
    store: Store, notifier: Notifier, due: _Due, now: datetime, report: ReminderReport
) -> None:
    try:
        _record(store, notifier, due, now, report.day)
    except DuplicateError:
        if len(due.relying) == 1:
            # Another worker sent this reminder between our look and our commit.
            report.already_sent += 1
            return
        # Some of the group were sent by another worker: each of the rest on its own.
        for one in due.relying:
            single = _Due(due.approval, due.offset, due.recipients, (one,))
            _send_due(store, notifier, single, now, report)
        return
    report.sent.append(
        SentReminder(
            reference=due.approval.reference,
            expiry=due.approval.expires,
            offset_days=due.offset,
            relationships=tuple(rel.reference for rel, _ in due.relying),
            recipients=due.recipients,
        )
    )


def _record(store: Store, notifier: Notifier, due: _Due, now: datetime, today: date) -> None:
    """One transaction: the email (when there is anyone to send it to) and its ReminderSent rows."""
    with store.unit() as unit:
        outbox_id = None
        if due.recipients:
            row = notifier.queue(
                unit,
                kind=REMINDER_KIND,
                to=due.recipients,
                context=reminder_context(notifier, due.approval, due.offset, due.relying, today),
                now=now,
                auto_submitted="auto-generated",
            )
            outbox_id = row.id
        for rel, _version in due.relying:
            assert rel.id is not None
            unit.add(
                ReminderSent(
                    reference=due.approval.reference,
                    relationship_id=rel.id,
                    expiry=due.approval.expires,
                    offset_days=due.offset,
                    sent_at=now,
                    outbox_id=outbox_id,
                )
            )


# --- staff: expiry alerts and daily summaries --------------------------------------------------


def _alert_expired(
    store: Store,
    notifier: Notifier,
    offices: Sequence[Dscro],
    relying: Mapping[str, list[Relying]],
    now: datetime,
    report: ReminderReport,
) -> None:
    """One alert per office per approval expiry, to offices with relationships relying on it."""
    with store.unit() as unit:
        expired = queries.expired_approvals(unit, report.day)
    for approval in expired:
        for office, items in _by_office(relying.get(approval.reference, []), offices):
            key = f"expired:{approval.reference}:{approval.expires.isoformat()}:{office.name}"
            context = expired_context(notifier, approval, office.name, items, report.day)
            if _alert_once(store, notifier, key, EXPIRED_KIND, office, context, now):
                report.expiry_alerts.append(key)


def _send_summaries(
    store: Store,
    notifier: Notifier,
    offices: Sequence[Dscro],
    relying: Mapping[str, list[Relying]],
    now: datetime,
    zone: tzinfo,
    report: ReminderReport,
) -> None:
    """Each office's summary of today's reminders, once a day, when there were any."""
    start = datetime.combine(report.day, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(report.day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    known = {rel.id: version.values for items in relying.values() for rel, version in items}
    with store.unit() as unit:
        rows = [
            SummaryRow(sent, rel, _values_of(unit, rel, known), tuple(recipients))
            for sent, rel, recipients in queries.reminders_sent_between(unit, start, end)
        ]
    by_office: dict[str, list[SummaryRow]] = {}
    for row in rows:
        office = _office_of(row.relationship, offices)
        if office is not None and office.staff:
            by_office.setdefault(office.name, []).append(row)
    for office in offices:
        items = by_office.get(office.name)
        if not items:
            continue
        key = f"reminder-summary:{office.name}:{report.day.isoformat()}"
        context = summary_context(notifier, office.name, report.day, items)
        if _alert_once(store, notifier, key, SUMMARY_KIND, office, context, now):
            report.summaries[office.name] = len(items)


def _values_of(
    unit: Unit, rel: Relationship, known: Mapping[int | None, dict[str, Any]]
) -> dict[str, Any]:
    """A relationship's current values: from the plan when it had them, else from the store."""
    if rel.id in known:
        return known[rel.id]
    return current_version(unit, rel).values


def _alert_once(
    store: Store,
    notifier: Notifier,
    key: str,
    kind: str,
    office: Dscro,
    context: dict[str, Any],
    now: datetime,
) -> bool:
    """Queue a staff email with its StaffAlert row, unless `key` was sent; whether it was queued."""
    try:
        with store.unit() as unit:
            if queries.staff_alert_sent(unit, key):
                return False
            row = notifier.queue(
                unit,
                kind=kind,
                to=office.staff,
                context=context,
                now=now,
                auto_submitted="auto-generated",
            )
            unit.add(StaffAlert(key=key, sent_at=now, outbox_id=row.id))
    except DuplicateError:  # another worker wrote it between our look and our commit
        return False
    return True


def _office_of(rel: Relationship, offices: Sequence[Dscro]) -> Dscro | None:
    return find_office(offices, rel.dscro) if rel.dscro else None


def _by_office(
    items: Iterable[Relying], offices: Sequence[Dscro]
) -> list[tuple[Dscro, list[Relying]]]:
    """The relationships of each office that has staff to tell, in configuration order."""
    grouped: dict[str, list[Relying]] = {}
    for rel, version in items:
        office = _office_of(rel, offices)
        if office is not None:
            grouped.setdefault(office.name, []).append((rel, version))
    return [(o, grouped[o.name]) for o in offices if o.staff and o.name in grouped]


def _unrouted(relying: Mapping[str, list[Relying]], offices: Sequence[Dscro]) -> list[str]:
    """Relationships relying on an approval whose DSCRO is no configured office: no staff hear."""
    return sorted(
        {rel.reference for items in relying.values() for rel, _ in items}
        - {
            rel.reference
            for items in relying.values()
            for rel, _ in items
            if _office_of(rel, offices) is not None
        }
    )


# --- what the templates show --------------------------------------------------------------------


def reminder_context(
    notifier: Notifier,
    approval: Approval,
    offset: int,
    relying: Sequence[Relying],
    today: date,
) -> dict[str, Any]:
    """The s251_reminder templates' values: the approval, when it expires, the relationships."""
    names = _names([version.values for _, version in relying])
    return {
        **notifier.base_context(" and ".join(names)),
        "approval": _approval(approval),
        "offset_days": offset,
        "expiry_notice": offset == EXPIRY_NOTICE,
        # After downtime a reminder goes out later than its offset: say how long is really left.
        "days_left": days_left(today, approval.expires),
        "relationships": [_relationship(rel, version.values) for rel, version in relying],
        "summary_references": _references_phrase([rel.reference for rel, _ in relying]),
    }


def expired_context(
    notifier: Notifier,
    approval: Approval,
    office: str,
    relying: Sequence[Relying],
    today: date,
) -> dict[str, Any]:
    """The s251_expired templates' values: the approval and the office's relationships on it."""
    return {
        **notifier.base_context(f"{office} team"),
        "office": office,
        "approval": _approval(approval),
        "days_left": days_left(today, approval.expires),  # 0 on the day, negative when late
        "relationships": [_relationship(rel, version.values) for rel, version in relying],
    }


@dataclass(frozen=True)
class SummaryRow:
    sent: ReminderSent
    relationship: Relationship
    values: Mapping[str, object]  # the relationship's current version
    recipients: tuple[str, ...]  # who the reminder was emailed to; none: nobody could be


def summary_context(
    notifier: Notifier, office: str, day: date, items: Sequence[SummaryRow]
) -> dict[str, Any]:
    """The s251_staff_summary templates' values: one row per reminder recorded on `day`."""
    rows = [
        {
            **_relationship(item.relationship, item.values),
            "approval": item.sent.reference,
            "expires": f"{item.sent.expiry:%d/%m/%Y}",
            "reminder": _reminder_label(item.sent.offset_days),
            "recipients": "; ".join(item.recipients),
        }
        for item in items
    ]
    return {
        **notifier.base_context(f"{office} team"),
        "office": office,
        "day": f"{day:%d/%m/%Y}",
        "total": len(rows),
        "without_address": sum(1 for row in rows if not row["recipients"]),
        "rows": rows,
    }


def _approval(approval: Approval) -> dict[str, Any]:
    return {
        "reference": approval.reference,
        "title": approval.title,
        "purposes": "; ".join(approval.purposes),
        "expires": f"{approval.expires:%d/%m/%Y}",
        "expires_long": f"{approval.expires:%A} {approval.expires.day} {approval.expires:%B %Y}",
    }


def _relationship(rel: Relationship, values: Mapping[str, object]) -> dict[str, str]:
    def party(name_key: str, ods_key: str) -> str:
        name, ods = stored_text(values.get(name_key)), stored_text(values.get(ods_key))
        return f"{name} ({ods})" if name and ods else name or ods

    return {
        "reference": rel.reference,
        "commissioner": party("commissioner_name", "commissioner_ods"),
        "processor": party("processor_name", "processor_ods"),
        "purposes": "; ".join(stored_list(values.get("purposes"))),
        "dscro": rel.dscro or "",
    }


def _names(all_values: Iterable[Mapping[str, object]]) -> list[str]:
    """The requester's and authoriser's names, each once, for the greeting."""
    names: list[str] = []
    for values in all_values:
        for _address, name_key in _CONTACTS:
            name = stored_text(values.get(name_key))
            if name and name not in names:
                names.append(name)
    return names[:4]  # a greeting, not a list: the table names everyone's relationships


def _references_phrase(references: Sequence[str]) -> str:
    if len(references) == 1:
        return references[0]
    return f"{references[0]} and {len(references) - 1} more"


def _reminder_label(offset: int) -> str:
    if offset == EXPIRY_NOTICE:
        return "expiry notice"
    return f"{offset} day{'s' if offset != 1 else ''} before"
