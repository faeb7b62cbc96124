"""Staff digests: each regional office's open queue, emailed to its staff at most once a day.

The once-a-day guarantee is the DigestLog primary key (office, day in Europe/London), written in
the same transaction as the outbox row: a restarted worker finds the row and sends nothing, and
of two replicas racing, the second one's commit fails and it counts the digest as already sent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, tzinfo
from enum import Enum, auto
from typing import Any
from zoneinfo import ZoneInfo

from intake_bot.config import Dscro
from intake_bot.domain.digest import Digest, DigestItem, build_digest
from intake_bot.domain.status import OPEN
from intake_bot.domain.triage import office_slug, request_reference
from intake_bot.mail.render import Rendered
from intake_bot.services.notify import Notifier, type_label
from intake_bot.store.store import DuplicateError, Store, Unit
from intake_bot.domain.records import DigestLog, InboundMessage, Request

log = logging.getLogger(__name__)

KIND = "digest"  # templates/email/digest.*
# How far back to look for an office's previous digest. The job runs on working days, so a
# long weekend or a bank holiday is well inside this; after a longer gap every item counts as new.


@dataclass
class DigestReport:
    """What one run did, office by office (office names as configured)."""

    sent: dict[str, int] = field(default_factory=dict)  # office → items listed
    skipped_empty: list[str] = field(default_factory=list)
    skipped_already_sent: list[str] = field(default_factory=list)
    skipped_no_staff: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Outcome(Enum):
    SENT = auto()
    EMPTY = auto()
    ALREADY_SENT = auto()


def send_digests(
    *,
    store: Store,
    notifier: Notifier,
    offices: Sequence[Dscro],
    now: datetime,
    tz: str = "Europe/London",
) -> DigestReport:
    """Queue today's digest for every office with staff and open items, unless already sent today.

    One outbox row per office per day (the day as in `tz`), to the office's staff addresses.
    """
    zone = ZoneInfo(tz)
    report = DigestReport()
    for office in offices:
        if not office.staff:
            report.skipped_no_staff.append(office.name)
            continue
        outcome, items = _send_one(store, notifier, office, now, zone)
        if outcome is _Outcome.SENT:
            report.sent[office.name] = items
        elif outcome is _Outcome.EMPTY:
            report.skipped_empty.append(office.name)
        else:
            report.skipped_already_sent.append(office.name)
    return report


def preview_digest(
    *, store: Store, notifier: Notifier, office: Dscro, now: datetime, tz: str = "Europe/London"
) -> Rendered | None:
    """The digest `office` would get now, rendered but not queued; None for an empty queue."""
    zone = ZoneInfo(tz)
    with store.unit() as unit:
        digest = gather_digest(unit, office.name, now, zone)
    if not digest.total:
        return None
    return notifier.renderer.render(KIND, digest_context(notifier, digest, now, zone))


def find_office(offices: Sequence[Dscro], name: str) -> Dscro | None:
    """The office called `name`, by its name, an alias or its queue prefix, in any case."""
    wanted = name.strip().casefold()
    for office in offices:
        names = [office.name, *office.aliases, office_slug(office.name)]
        if wanted in (n.casefold() for n in names):
            return office
    return None


def _send_one(
    store: Store, notifier: Notifier, office: Dscro, now: datetime, zone: tzinfo
) -> tuple[_Outcome, int]:
    """Queue one office's digest with its DigestLog row; (what happened, items listed)."""
    today = now.astimezone(zone).date()
    try:
        with store.unit() as unit:
            if unit.get(DigestLog, (office.name, today)) is not None:
                return _Outcome.ALREADY_SENT, 0
            digest = gather_digest(unit, office.name, now, zone)
            if not digest.total:
                return _Outcome.EMPTY, 0
            row = notifier.queue(
                unit,
                kind=KIND,
                to=office.staff,
                context=digest_context(notifier, digest, now, zone),
                now=now,
                auto_submitted="auto-generated",
            )
            unit.add(
                DigestLog(
                    office=office.name,
                    day=today,
                    sent_at=now,
                    outbox_id=row.id,
                    items=digest.total,
                )
            )
    except DuplicateError:
        # Another replica wrote today's digest between our check and our commit.
        log.info("digest for %s already sent today by another worker", office.name)
        return _Outcome.ALREADY_SENT, 0
    log.info("digest for %s queued: %d items", office.name, digest.total)
    return _Outcome.SENT, digest.total


def gather_digest(unit: Unit, office: str, now: datetime, zone: tzinfo) -> Digest:
    """The office's open items (every queue "<office-slug>/…"), sorted into sections."""
    prefix = office_slug(office) + "/"
    open_statuses = sorted(s.value for s in OPEN)
    items: list[DigestItem] = []
    for queue, _count in unit.queue_counts(open_statuses):
        if not queue.startswith(prefix):
            continue
        items.extend(_request_item(r) for r in unit.requests(queue=queue, statuses=open_statuses))
        items.extend(_message_item(m) for m in unit.inbound_in_queue(queue))
    today = now.astimezone(zone).date()
    return build_digest(office, items, today=today, since=_previous_digest_at(unit, office, today))


def _previous_digest_at(unit: Unit, office: str, today: date) -> datetime | None:
    """When the office's latest digest up to today went out."""
    row = unit.last_digest(office, today)
    return row.sent_at if row is not None else None


def _request_item(r: Request) -> DigestItem:
    assert r.id is not None
    name = r.values.get("commissioner_name") or "(no commissioner named)"
    ods = r.values.get("commissioner_ods") or ""
    return DigestItem(
        reference=request_reference(r.id),
        kind=type_label(r.request_type),
        status=r.status.replace("_", " "),
        organisation=f"{name} {ods}".strip(),
        received=r.created_at,
        due_on=r.due_on,
        assigned_to=r.assigned_to or "",
        problems=len(r.problems),
    )


def _message_item(m: InboundMessage) -> DigestItem:
    # A message that holds no request (e.g. a reply flagged for staff): who sent it, not what.
    return DigestItem(
        reference=f"MSG-{m.id}",
        kind=m.outcome,
        status="awaiting staff",
        organisation=m.from_addr,
        received=m.filed_at,
    )


def digest_context(
    notifier: Notifier, digest: Digest, now: datetime, zone: tzinfo
) -> dict[str, Any]:
    """What the digest templates show: counts, and one table of rows per non-empty section."""
    sections = [
        {
            "key": section.value,
            "title": digest.title(section),
            "rows": [_row(item, now, zone) for item in items],
        }
        for section, items in digest.sections()
        if items
    ]
    return {
        **notifier.base_context(f"{digest.office} team"),
        "office": digest.office,
        "day": digest.day.strftime("%d/%m/%Y"),
        "since": _local(digest.since, zone) if digest.since else "",
        "total": digest.total,
        "overdue_count": len(digest.overdue),
        "new_count": len(digest.new),
        "waiting_count": len(digest.waiting),
        "sections": sections,
    }


def _row(item: DigestItem, now: datetime, zone: tzinfo) -> dict[str, Any]:
    return {
        "reference": item.reference,
        "kind": item.kind,
        "status": item.status,
        "organisation": item.organisation,
        "received": _local(item.received, zone),
        "age_days": max((now - item.received).days, 0),
        "due_on": item.due_on.strftime("%d/%m/%Y") if item.due_on else "",
        "assigned_to": item.assigned_to,
        "problems": item.problems,
    }


def _local(when: datetime, zone: tzinfo) -> str:
    return when.astimezone(zone).strftime("%d/%m/%Y %H:%M")
