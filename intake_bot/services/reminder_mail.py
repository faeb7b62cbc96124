"""What the s251 emails show: the values the reminder, expiry-alert and staff-summary templates
(templates/email/s251_*) are rendered with."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from intake_bot.domain.records import Approval, Relationship, ReminderSent
from intake_bot.domain.register import stored_list, stored_text
from intake_bot.domain.reminders import EXPIRY_NOTICE, days_left
from intake_bot.services.notify import Notifier

# A relationship and its current values, with who asked for it filled in (see reminders.py).
Relied = tuple[Relationship, Mapping[str, object]]
# Who a reminder goes to: the address key and the name key of each person, in greeting order.
CONTACTS = (("requester_email", "requester_name"), ("authoriser_email", "authoriser_name"))


def recipients(values: Mapping[str, object]) -> tuple[str, ...]:
    """The requester and the authoriser, each once (compared without regard to case)."""
    found: list[str] = []
    for key, _name in CONTACTS:
        address = stored_text(values.get(key))
        if address and address.casefold() not in (a.casefold() for a in found):
            found.append(address)
    return tuple(found)


def reminder_context(
    notifier: Notifier,
    approval: Approval,
    offset: int,
    relying: Sequence[Relied],
    today: date,
) -> dict[str, Any]:
    """The s251_reminder templates' values: the approval, when it expires, the relationships."""
    names = _names([values for _, values in relying])
    return {
        **notifier.base_context(" and ".join(names)),
        "approval": _approval(approval),
        "offset_days": offset,
        "expiry_notice": offset == EXPIRY_NOTICE,
        # After downtime a reminder goes out later than its offset: say how long is really left.
        "days_left": days_left(today, approval.expires),
        "relationships": [_relationship(rel, values) for rel, values in relying],
        "summary_references": _references_phrase([rel.reference for rel, _ in relying]),
    }


def expired_context(
    notifier: Notifier,
    approval: Approval,
    office: str,
    relying: Sequence[Relied],
    today: date,
) -> dict[str, Any]:
    """The s251_expired templates' values: the approval and the office's relationships on it."""
    return {
        **notifier.base_context(f"{office} team"),
        "office": office,
        "approval": _approval(approval),
        "days_left": days_left(today, approval.expires),  # 0 on the day, negative when late
        "relationships": [_relationship(rel, values) for rel, values in relying],
    }


@dataclass(frozen=True)
class SummaryRow:
    """One reminder recorded on the summary's day."""

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
        for _address, name_key in CONTACTS:
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
