"""The emails of a succession review, to the relationship's requester and authoriser: the
notice that an organisation closed, and how the review ended (carried over, ended, or withdrawn
because ODS withdrew the closure). Staff's notes stay in the audit trail: they were written for
colleagues."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from intake_bot.domain.ods_views import ReviewItem, whole_label
from intake_bot.domain.organisations import uk
from intake_bot.domain.register import stored_text
from intake_bot.ports import Unit
from intake_bot.services.notify import Notifier
from intake_bot.services.reminder_mail import CONTACTS, recipients
from intake_bot.working_days import today_in_england

EMAIL_KIND = "ods_succession"
DECISION_KIND = "ods_decision"  # templates/email/ods_decision.*
_PARTY_LABELS = {"commissioner": "commissioning organisation", "processor": "data processor"}


def tell_withdrawn(
    unit: Unit,
    notifier: Notifier,
    item: ReviewItem,
    values: Mapping[str, object],
    now: datetime,
    *,
    thread_on: str | None,
) -> None:
    """The contacts told of a closure are told that ODS withdrew it: nothing changes."""
    to = recipients(values)
    if not to:
        return
    context = notice_context(notifier, item, values, now)
    context["decision"] = "withdrawn"
    _queue(unit, notifier, DECISION_KIND, to, context, now, thread_on)


def tell_closure(
    unit: Unit,
    notifier: Notifier,
    item: ReviewItem,
    values: Mapping[str, object],
    now: datetime,
    *,
    updated: str = "",
    thread_on: str | None = None,
) -> str | None:
    """The notice to the relationship's contacts; its Message-ID, for the decision to thread on.
    `updated`: what ODS changed since the first notice (a close date moved, a successor named),
    sent again as a reply to it (`thread_on`)."""
    to = recipients(values)
    if not to:
        return None
    context = {**notice_context(notifier, item, values, now), "updated": updated}
    return _queue(unit, notifier, EMAIL_KIND, to, context, now, thread_on)


def notice_context(
    notifier: Notifier, item: ReviewItem, values: Mapping[str, object], now: datetime
) -> dict[str, Any]:
    """What both emails say of the item. Names are ODS's own, whole: a sub-ICB location's,
    "<ICB> - <code>", shortened to "<ICB>" is its ICB's name, and a requester who copied it
    into a form would name the ICB."""
    names = [stored_text(values.get(name)) for _, name in CONTACTS]
    return {
        **notifier.base_context(" and ".join(dict.fromkeys(n for n in names if n))),
        "reference": item.reference,
        "party": _PARTY_LABELS[item.party],
        "closed_code": item.closed_code,
        "closed_name": item.closed_name,
        "closed_label": whole_label(item.closed_name, item.closed_code),  # or the code alone
        "closed_on": uk(item.closed_on),
        "closed_already": item.closed_on is not None and item.closed_on < today_in_england(now),
        "successors": [
            {"code": c, "name": n, "label": whole_label(n, c)} for c, n in item.successors
        ],
    }


def tell_decided(
    unit: Unit,
    notifier: Notifier,
    item: ReviewItem,
    values: Mapping[str, object],
    now: datetime,
    *,
    carried_to: tuple[str, str] | None,
    ends_on: date | None,
    thread_on: str | None,
) -> None:
    """The requester and authoriser, told of the review when it opened, are told how it ended:
    carried over to which successor from which day, or ended on which day. Staff's note stays
    in the audit trail: it was written for colleagues."""
    to = recipients(values)
    if not to:
        return
    context = notice_context(notifier, item, values, now)
    today = today_in_england(now)
    if carried_to is not None:
        code, name = carried_to
        context["decision"] = "carried"
        context["successor"] = {"code": code, "name": name, "label": whole_label(name, code)}
        context["from_date"] = uk(item.effective_on or item.changes_on)  # as the register has it
    else:
        context["decision"] = "ended"
        context["ends_on"] = uk(ends_on)
        context["after_closure"] = item.after_closure
        context["ended_already"] = ends_on is not None and ends_on <= today
    _queue(unit, notifier, DECISION_KIND, to, context, now, thread_on)


def _queue(
    unit: Unit,
    notifier: Notifier,
    kind: str,
    to: tuple[str, ...],
    context: dict[str, Any],
    now: datetime,
    thread_on: str | None,
) -> str:
    """One email of the review, as a reply to the notice that opened it (when there is one);
    its Message-ID."""
    return notifier.queue(
        unit,
        kind=kind,
        to=to,
        context=context,
        now=now,
        in_reply_to=thread_on,
        references=(thread_on,) if thread_on else (),
        auto_submitted="auto-generated",
    ).message_id
