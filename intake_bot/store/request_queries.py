"""The console's queries over open requests: counts per queue, and a page of one queue or of a
search, sorted, filtered and counted in the database (50,000 requests must not be loaded for a
page of 100)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_
from sqlmodel import Session, col, select

from intake_bot.domain.queue_views import RequestQuery
from intake_bot.domain.records import Request
from intake_bot.domain.triage import parse_request_reference
from intake_bot.store.tables import RequestRow

# The form's values a search looks in, besides the sender and the commissioner's ODS code.
SEARCHED_CHARS = 200  # of each field: an organisation's name is far shorter
# The form's values a search looks in, besides the sender.
SEARCHED_FIELDS = (
    "commissioner_name",
    "commissioner_ods",
    "processor_name",
    "processor_ods",
    "requester_email",
)
_ORDERS: dict[str, Sequence[Any]] = {
    "received": (col(RequestRow.created_at), col(RequestRow.id)),
    "due": (col(RequestRow.due_on).is_(None), col(RequestRow.due_on), col(RequestRow.id)),
    "assignee": (
        col(RequestRow.assigned_to).is_(None),
        col(RequestRow.assigned_to),
        col(RequestRow.id),
    ),
}


def queue_summary(
    session: Session, statuses: Sequence[str], today: date
) -> list[tuple[str, int, int]]:
    """(queue, open requests, of which overdue) for every queue that holds one."""
    overdue = func.sum(case((col(RequestRow.due_on) < today, 1), else_=0))
    stmt = (
        select(RequestRow.queue, func.count(), overdue)
        .where(col(RequestRow.status).in_(statuses))
        .group_by(RequestRow.queue)
        .order_by(RequestRow.queue)
    )
    return [(queue, int(n), int(late or 0)) for queue, n, late in session.exec(stmt).all()]


def browse(session: Session, query: RequestQuery) -> tuple[list[Request], int]:
    """One page of the requests `query` names, and how many there are in all."""
    where: list[ColumnElement[bool]] = [col(RequestRow.status).in_(query.statuses)]
    if query.queue is not None:
        where.append(col(RequestRow.queue) == query.queue)
    if query.offices is not None:
        if query.queue is not None:  # the queue names its office: one check, not a filter
            if query.queue.partition("/")[0] not in query.offices:
                return [], 0
        elif not query.offices:
            return [], 0
        else:
            where.append(col(RequestRow.office).in_(query.offices))
    if query.text.strip():
        where.append(_matching(query.text.strip()))
    condition = and_(*where)
    # Which rows match is decided on the narrow indexes alone (a search reads no form); only
    # the page's own rows are then read whole.
    matching = select(RequestRow.id).where(condition)
    total = session.exec(select(func.count()).select_from(matching.subquery())).one()
    stmt = (
        select(Request)
        .where(col(RequestRow.id).in_(matching))
        .order_by(*_ORDERS.get(query.order, _ORDERS["received"]))
        .offset(query.offset)
        .limit(query.limit)
    )
    return list(session.exec(stmt)), int(total)


def search_text(values: dict[str, Any], sender: str) -> str:
    """What a search looks in, for one request: its sender and named fields, lower-cased."""
    found = [sender, *(str(values.get(key) or "") for key in SEARCHED_FIELDS)]
    # Each part cut, so the whole stays far below what a btree index entry may hold (~2.7 kB).
    return " | ".join(part[:SEARCHED_CHARS] for part in found).lower()


def _matching(text: str) -> Any:
    """A reference, or text within the sender, the ODS codes or the organisations' names: one
    plain text column, so a search reads no JSON."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    found: list[ColumnElement[bool]] = [
        col(RequestRow.search_text).like(f"%{escaped}%", escape="\\"),
    ]
    reference = parse_request_reference(text)
    if reference is not None:
        found.append(col(RequestRow.id) == reference)
    return or_(*found)
