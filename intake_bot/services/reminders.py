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
   From that day those relationships show "legal basis expired" (domain/legal_basis.py).
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
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from intake_bot.config import Dscro
from intake_bot.domain.records import (
    Approval,
    Relationship,
    ReminderSent,
    Request,
    StaffAlert,
    saved_id,
)
from intake_bot.domain.register import stored_text
from intake_bot.domain.reminders import ReminderReport, SentReminder, due_offset
from intake_bot.ports import DuplicateError, Store, Unit
from intake_bot.services.approvals import Relying, relying_on_each
from intake_bot.services.digests import find_office
from intake_bot.services.notify import Notifier
from intake_bot.services.reminder_mail import (
    Relied,
    SummaryRow,
    expired_context,
    recipients,
    reminder_context,
    summary_context,
)

log = logging.getLogger(__name__)

REMINDER_KIND = "s251_reminder"  # templates/email/s251_reminder.*
SUMMARY_KIND = "s251_staff_summary"
EXPIRED_KIND = "s251_expired"


@dataclass
class _Run:
    """What this run has done so far; handed over as a ReminderReport."""

    day: date
    sent: list[SentReminder] = field(default_factory=list)
    already_sent: int = 0
    expiry_alerts: list[str] = field(default_factory=list)
    summaries: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Due:
    """Reminders due today for relationships that share an approval, an offset and addresses."""

    approval: Approval
    offset: int
    recipients: tuple[str, ...]
    relying: tuple[Relied, ...]


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
    run = _Run(day=now.astimezone(zone).date())
    with store.unit() as unit:
        relying = relying_on_each(unit, run.day)
        contacts = _with_requesters(unit, relying)
        dues = _plan(unit, run.day, offsets, relying, contacts)
    for due in dues:
        _send_due(store, notifier, due, now, run)
    _alert_expired(store, notifier, offices, relying, contacts, now, run)
    _send_summaries(store, notifier, offices, contacts, now, zone, run)
    report = ReminderReport(
        day=run.day,
        sent=tuple(run.sent),
        already_sent=run.already_sent,
        expiry_alerts=tuple(run.expiry_alerts),
        summaries=dict(run.summaries),
        unrouted=tuple(_unrouted(relying, offices)),
    )
    log.info(
        "s251 reminders for %s: %d emails, %d already sent, %d expiry alerts, %d summaries, "
        "%d relationships of no configured office",
        report.day.isoformat(),
        report.emails,
        report.already_sent,
        len(report.expiry_alerts),
        len(report.summaries),
        len(report.unrouted),
    )
    return report


def _with_requesters(
    unit: Unit, relying: Mapping[str, list[Relying]]
) -> dict[int, Mapping[str, object]]:
    """Each relationship's current values, by id, with who asked for it taken from the request
    that made the version when the version does not say (versions made before they kept it)."""
    found: dict[int, Mapping[str, object]] = {}
    for _rel, version in (pair for items in relying.values() for pair in items):
        if version.relationship_id in found:  # it relies on several approvals
            continue
        values: Mapping[str, object] = version.values
        if not stored_text(values.get("requester_email")) and version.request_id is not None:
            request = unit.requests.get(version.request_id)
            if request is not None:
                values = {**values, **_requester_of(request)}
        found[version.relationship_id] = values
    return found


def _requester_of(request: Request) -> dict[str, object]:
    return {
        "requester_email": request.requester_email or request.values.get("requester_email"),
        "requester_name": request.values.get("requester_name"),
    }


def _plan(
    unit: Unit,
    today: date,
    offsets: Sequence[int],
    relying: Mapping[str, list[Relying]],
    contacts: Mapping[int, Mapping[str, object]],
) -> list[_Due]:
    """The reminders due today, grouped into emails."""
    dues: list[_Due] = []
    for approval in unit.reference.approvals():
        sent = unit.notices.reminders_sent(approval.reference, approval.expires)
        groups: dict[tuple[int, tuple[str, ...]], list[Relied]] = {}
        for rel, _version in relying.get(approval.reference, []):
            rel_id = saved_id(rel)
            offset = due_offset(today, approval.expires, offsets, sent.get(rel_id, set()))
            if offset is not None:
                values = contacts[rel_id]
                groups.setdefault((offset, recipients(values)), []).append((rel, values))
        dues += [_Due(approval, offset, to, tuple(items)) for (offset, to), items in groups.items()]
    return dues


def _send_due(store: Store, notifier: Notifier, due: _Due, now: datetime, run: _Run) -> None:
    try:
        _record(store, notifier, due, now, run.day)
    except DuplicateError:
        if len(due.relying) == 1:
            # Another worker sent this reminder between our look and our commit.
            run.already_sent += 1
            return
        # Some of the group were sent by another worker: each of the rest on its own.
        for one in due.relying:
            _send_due(
                store, notifier, _Due(due.approval, due.offset, due.recipients, (one,)), now, run
            )
        return
    run.sent.append(
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
            email = notifier.queue(
                unit,
                kind=REMINDER_KIND,
                to=due.recipients,
                context=reminder_context(notifier, due.approval, due.offset, due.relying, today),
                now=now,
                auto_submitted="auto-generated",
            )
            unit.flush()  # the email's id, for the staff summary's "sent to"
            outbox_id = saved_id(email)
        for rel, _values in due.relying:
            unit.add(
                ReminderSent(
                    reference=due.approval.reference,
                    relationship_id=saved_id(rel),
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
    contacts: Mapping[int, Mapping[str, object]],
    now: datetime,
    run: _Run,
) -> None:
    """One alert per office per approval expiry, to offices with relationships relying on it."""
    with store.unit() as unit:
        expired = unit.reference.expired_approvals(run.day)
    for approval in expired:
        items = [(rel, contacts[saved_id(rel)]) for rel, _ in relying.get(approval.reference, [])]
        for office, theirs in _by_office(items, offices):
            key = f"expired:{approval.reference}:{approval.expires.isoformat()}:{office.name}"
            context = expired_context(notifier, approval, office.name, theirs, run.day)
            if _alert_once(store, notifier, key, EXPIRED_KIND, office, context, now):
                run.expiry_alerts.append(key)


def _send_summaries(
    store: Store,
    notifier: Notifier,
    offices: Sequence[Dscro],
    contacts: Mapping[int, Mapping[str, object]],
    now: datetime,
    zone: tzinfo,
    run: _Run,
) -> None:
    """Each office's summary of today's reminders, once a day, when there were any."""
    start = datetime.combine(run.day, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(run.day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    with store.unit() as unit:
        rows = [
            SummaryRow(sent, rel, _values_of(unit, rel, contacts), tuple(to))
            for sent, rel, to in unit.notices.reminders_sent_between(start, end)
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
        key = f"reminder-summary:{office.name}:{run.day.isoformat()}"
        context = summary_context(notifier, office.name, run.day, items)
        if _alert_once(store, notifier, key, SUMMARY_KIND, office, context, now):
            run.summaries[office.name] = len(items)


def _values_of(
    unit: Unit, rel: Relationship, known: Mapping[int, Mapping[str, object]]
) -> Mapping[str, object]:
    """A relationship's current values: from the plan when it had them, else from the store."""
    found = known.get(saved_id(rel))
    return found if found is not None else unit.register.current_version(rel).values


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
            if unit.notices.staff_alert(key) is not None:
                return False
            email = notifier.queue(
                unit,
                kind=kind,
                to=office.staff,
                context=context,
                now=now,
                auto_submitted="auto-generated",
            )
            unit.flush()  # the email's id, kept with the alert
            unit.add(StaffAlert(key=key, sent_at=now, outbox_id=saved_id(email)))
    except DuplicateError:  # another worker wrote it between our look and our commit
        return False
    return True


def _office_of(rel: Relationship, offices: Sequence[Dscro]) -> Dscro | None:
    return find_office(offices, rel.dscro) if rel.dscro else None


def _by_office(
    items: Iterable[Relied], offices: Sequence[Dscro]
) -> list[tuple[Dscro, list[Relied]]]:
    """The relationships of each office that has staff to tell, in configuration order."""
    grouped: dict[str, list[Relied]] = {}
    for rel, values in items:
        office = _office_of(rel, offices)
        if office is not None:
            grouped.setdefault(office.name, []).append((rel, values))
    return [(o, grouped[o.name]) for o in offices if o.staff and o.name in grouped]


def _unrouted(relying: Mapping[str, list[Relying]], offices: Sequence[Dscro]) -> list[str]:
    """Relationships relying on an approval whose DSCRO is no configured office: no staff hear."""
    return sorted(
        {
            rel.reference
            for items in relying.values()
            for rel, _ in items
            if _office_of(rel, offices) is None
        }
    )
