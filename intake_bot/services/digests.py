"""Staff digests: each regional office's open queue, and the ODS review items waiting for its
decision, emailed to its staff at most once a day.

The once-a-day guarantee is the DigestLog primary key (office, day in the settings' time zone),
written in the same transaction as the outbox row: a restarted worker finds the row and sends
nothing, and of two replicas racing, the second one's commit fails and it counts the digest as
already sent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from enum import Enum, auto
from typing import Any
from zoneinfo import ZoneInfo

from intake_bot.config import Dscro
from intake_bot.domain.digest import Digest, DigestItem, DigestReview, build_digest
from intake_bot.domain.ods_views import organisation_label
from intake_bot.domain.organisations import OPEN as OPEN_REVIEW
from intake_bot.domain.organisations import uk
from intake_bot.domain.outgoing import Rendered
from intake_bot.domain.records import DigestLog, InboundMessage, Request, saved_id
from intake_bot.domain.status import OPEN
from intake_bot.domain.triage import Office, message_reference, office_slug, request_reference
from intake_bot.domain.workflow import UnknownOfficeError
from intake_bot.domain.workflow_views import DigestReport
from intake_bot.ports import Clock, DuplicateError, Store, Unit
from intake_bot.services.notify import Notifier, type_label

log = logging.getLogger(__name__)

KIND = "digest"  # templates/email/digest.*


class _Outcome(Enum):
    SENT = auto()
    EMPTY = auto()
    ALREADY_SENT = auto()


class Digests:
    """The staff digests use case: send today's, or preview one office's."""

    def __init__(
        self,
        *,
        store: Store,
        notifier: Notifier,
        clock: Clock,
        offices: Sequence[Dscro],
        timezone: str = "Europe/London",
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.clock = clock
        self.offices = tuple(offices)
        self.zone = ZoneInfo(timezone)

    def send(self) -> DigestReport:
        """Queue today's digest for every office with staff and open items (requests, messages,
        review items), unless already sent today: one outbox row per office per day (the day in
        the settings' time zone), to the office's staff addresses."""
        now = self.clock()
        sent: dict[str, int] = {}
        skipped: dict[_Outcome | None, list[str]] = {None: []}
        for office in self.offices:
            if not office.staff:
                skipped[None].append(office.name)
                continue
            outcome, items = self._send_one(office, now)
            if outcome is _Outcome.SENT:
                sent[office.name] = items
            else:
                skipped.setdefault(outcome, []).append(office.name)
        return DigestReport(
            sent=sent,
            skipped_empty=tuple(skipped.get(_Outcome.EMPTY, [])),
            skipped_already_sent=tuple(skipped.get(_Outcome.ALREADY_SENT, [])),
            skipped_no_staff=tuple(skipped[None]),
        )

    def office(self, name: str) -> Dscro:
        """The office `name` names (its name, an alias or its queue prefix, in any case)."""
        found = find_office(self.offices, name)
        if found is None:
            names = ", ".join(o.name for o in self.offices)
            raise UnknownOfficeError(f"no regional office {name!r}: {names}")
        return found

    def preview(self, office_name: str) -> Rendered | None:
        """The digest the office would get now, rendered but not queued; None when nothing is
        open. Raises UnknownOfficeError for a name that is no office."""
        office, now = self.office(office_name), self.clock()
        with self.store.unit() as unit:
            digest = gather_digest(unit, office.name, now, self.zone)
        if not digest.total:
            return None
        context = digest_context(self.notifier, digest, now, self.zone)
        return self.notifier.renderer.render(KIND, context)

    def _send_one(self, office: Dscro, now: datetime) -> tuple[_Outcome, int]:
        """Queue one office's digest with its DigestLog row; (what happened, items in it: the
        open requests and messages, and every open review item, those counted but not listed
        too)."""
        today = now.astimezone(self.zone).date()
        try:
            with self.store.unit() as unit:
                last = unit.notices.last_digest(office.name, today)
                if last is not None and last.day == today:
                    return _Outcome.ALREADY_SENT, 0
                digest = gather_digest(unit, office.name, now, self.zone)
                if not digest.total:
                    return _Outcome.EMPTY, 0
                row = self.notifier.queue(
                    unit,
                    kind=KIND,
                    to=office.staff,
                    context=digest_context(self.notifier, digest, now, self.zone),
                    now=now,
                    auto_submitted="auto-generated",
                )
                unit.flush()  # the log names the outbox row by its id
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


def find_office(offices: Sequence[Dscro], name: str) -> Dscro | None:
    """The office called `name`, by its name, an alias or its queue prefix, in any case."""
    for office in offices:
        if Office(office.name, tuple(office.aliases)).is_called(name):
            return office
    return None


def gather_digest(unit: Unit, office: str, now: datetime, zone: tzinfo) -> Digest:
    """The office's open items (every queue "<office-slug>/…"), sorted into sections, and the
    review items on its relationships."""
    prefix = office_slug(office) + "/"
    open_statuses = sorted(s.value for s in OPEN)
    items: list[DigestItem] = []
    for queue, _count in unit.requests.queue_counts(open_statuses):
        if not queue.startswith(prefix):
            continue
        requests = unit.requests.matching(queue=queue, statuses=open_statuses)
        items += [_request_item(r) for r in requests]
        items += [_message_item(m) for m in unit.messages.in_queue(queue)]
    today = now.astimezone(zone).date()
    since = _previous_digest_at(unit, office, today)
    reviews = _review_items(unit, office, today)
    return build_digest(office, items, today=today, since=since, reviews=reviews)


def _previous_digest_at(unit: Unit, office: str, today: date) -> datetime | None:
    """When the office's latest digest up to today went out."""
    row = unit.notices.last_digest(office, today)
    return row.sent_at if row is not None else None


def _request_item(r: Request) -> DigestItem:
    name = r.values.get("commissioner_name") or "(no commissioner named)"
    ods = r.values.get("commissioner_ods") or ""
    return DigestItem(
        reference=request_reference(saved_id(r)),
        kind=type_label(r.request_type),
        status=r.status.replace("_", " "),
        organisation=f"{name} {ods}".strip(),
        received=r.created_at,
        due_on=r.due_on,
        assigned_to=r.assigned_to or "",
        problems=len(r.problems),
    )


def _review_items(unit: Unit, office: str, today: date) -> list[DigestReview]:
    """The open ODS review items on the office's relationships (and on those with no office,
    in every office's digest, so that one is seen): each waits for a lead's decision."""
    reviews = unit.organisations.reviews(OPEN_REVIEW)
    if not reviews:
        return []  # the ODS list is read only when there is something to name
    names = {org.code: org.name for org in unit.organisations.all()}
    items = []
    for review in reviews:
        rel = unit.register.get(review.relationship_id)
        if rel is None or (rel.dscro and office_slug(rel.dscro) != office_slug(office)):
            continue
        items.append(
            DigestReview(
                number=saved_id(review),
                relationship=review.reference,
                party=review.party,
                closed=organisation_label(names.get(review.closed_code, ""), review.closed_code),
                closed_on=review.closed_on,
                closed_already=review.closed_on is not None and review.closed_on < today,
                successors=tuple(
                    organisation_label(names.get(c, ""), c) for c in review.successors
                ),
                waiting_since=review.created_at,
                no_office=not rel.dscro,
            )
        )
    return items


def _message_item(m: InboundMessage) -> DigestItem:
    # A message that holds no request (e.g. a reply flagged for staff): who sent it, not what.
    return DigestItem(
        reference=message_reference(saved_id(m)),
        kind=m.outcome,
        status="awaiting staff",
        organisation=m.from_addr,
        received=m.filed_at,
    )


def digest_context(
    notifier: Notifier, digest: Digest, now: datetime, zone: tzinfo
) -> dict[str, Any]:
    """What the digest templates show: counts, one table of rows per non-empty section, and the
    review items apart (the oldest REVIEWS_SHOWN; the rest counted). `total` counts the open
    requests only, as the section rows do."""
    sections = [
        {
            "key": section.value,
            "title": digest.title(section),
            "rows": [_row(item, now, zone) for item in items],
        }
        for section, items in digest.sections()
        if items
    ]
    cut = digest.reviews_cut
    return {
        **notifier.base_context(f"{digest.office} team"),
        "office": digest.office,
        "day": digest.day.strftime("%d/%m/%Y"),
        "since": _local(digest.since, zone) if digest.since else "",
        "total": digest.open_count,
        "overdue_count": len(digest.overdue),
        "new_count": len(digest.new),
        "waiting_count": len(digest.waiting),
        "sections": sections,
        "review_count": len(digest.reviews),
        "reviews": [_review_row(r, now, zone) for r in digest.reviews_shown],
        "reviews_more": len(cut),
        "reviews_more_since": _local(cut[0].waiting_since, zone) if cut else "",
    }


def _row(item: DigestItem, now: datetime, zone: tzinfo) -> dict[str, Any]:
    return {
        "path": f"/requests/{item.reference}",
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


def _review_row(review: DigestReview, now: datetime, zone: tzinfo) -> dict[str, Any]:
    closes = "closed" if review.closed_already else "closes"
    return {
        "path": f"/register#review-{review.number}",  # decided on the register page
        "reference": f"ODS-{review.number}",
        "relationship": review.relationship,
        "party": "commissioner" if review.party == "commissioner" else "data processor",
        "closed": review.closed,
        "closed_on": f"{closes} on {uk(review.closed_on)}" if review.closed_on else "closed",
        "successors": _in_words(review.successors) or "none named by ODS",
        "successor_count": len(review.successors),
        "waiting_since": _local(review.waiting_since, zone),
        "age_days": max((now - review.waiting_since).days, 0),
        "no_office": review.no_office,
    }


def _in_words(names: Sequence[str]) -> str:
    """ "A", "A and B", "A, B and C"."""
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 2 else names)


def _local(when: datetime, zone: tzinfo) -> str:
    return when.astimezone(zone).strftime("%d/%m/%Y %H:%M")
