"""Row mapping: the domain records (`domain/records.py`) persisted in the tables of `tables.py`.

Classical (imperative) mapping keeps the services on plain classes: a service builds and changes
records, and the unit of work writes them. The SQLModel classes stay the one definition of the
schema (migrations, `create_all`); the records are mapped onto the very same `Table` objects.
What a column cannot hold is fixed here, once: strings are cut to the column's width and NUL
characters (which PostgreSQL refuses) are dropped, so no service truncates anything.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String, Table, event
from sqlalchemy.orm import Session, configure_mappers, deferred, registry

from intake_bot.domain import organisations as o
from intake_bot.domain import records as r
from intake_bot.store import ods_tables as ot
from intake_bot.store import tables as t
from intake_bot.store.request_queries import search_text

_MAPPED: list[tuple[type[Any], Any, tuple[str, ...]]] = [
    # (record, its table's row class, columns loaded only when read)
    (r.InboundMessage, t.InboundMessageRow, ("raw",)),
    (r.Attachment, t.AttachmentRow, ("data",)),
    (r.Request, t.RequestRow, ()),
    (r.Event, t.EventRow, ()),
    (r.Outbox, t.OutboxRow, ("raw",)),
    (r.Organisation, t.OrganisationRow, ()),
    (r.Approval, t.ApprovalRow, ()),
    (r.ApprovalExtension, t.ApprovalExtensionRow, ()),
    (r.Relationship, t.RelationshipRow, ()),
    (r.RelationshipVersion, t.RelationshipVersionRow, ()),
    (r.DigestLog, t.DigestLogRow, ()),
    (r.ReminderSent, t.ReminderSentRow, ()),
    (r.StaffAlert, t.StaffAlertRow, ()),
    (r.StaffAccount, t.StaffAccountRow, ()),
    (o.OdsOrganisation, ot.OdsOrganisationRow, ()),
    (o.Succession, ot.OdsSuccessionRow, ()),
    (o.SuccessionReview, ot.OdsReviewRow, ()),
]

_registry = registry()
# record class -> {attribute: the width of its column (None: text of any length, or JSON)}
_WIDTHS: dict[type[Any], dict[str, int | None]] = {}


def map_records() -> None:
    """Map every record onto its table (once per process; later calls do nothing)."""
    if _WIDTHS:
        return
    for record, row, lazy in _MAPPED:
        table: Table = row.__table__
        _registry.map_imperatively(
            record, table, properties={name: deferred(table.c[name]) for name in lazy}
        )
        _WIDTHS[record] = {
            c.name: base.length if isinstance(base, String) else None
            for c in table.columns
            # SQLModel's strings are a TypeDecorator (AutoString) over String
            if isinstance(base := getattr(c.type, "impl_instance", c.type), String | JSON)
        }
    event.listen(Session, "before_flush", _fit_strings)
    # Configured now, not on the first query: a record built before any session exists (by a
    # service on in-memory fakes, in the same process) must find its attributes set up.
    configure_mappers()


def _fit_strings(session: Session, _context: Any, _instances: Any) -> None:
    for obj in (*session.new, *session.dirty):
        fit_record(obj)


def fit_record(obj: Any) -> None:
    """Make `obj` fit its table before it is written (also used by `direct_insert`)."""
    if isinstance(obj, r.Request):  # the console's columns follow the queue and the form
        obj.office = obj.queue.partition("/")[0]  # type: ignore[attr-defined]
        obj.search_text = search_text(obj.values, obj.sender_email)  # type: ignore[attr-defined]
    widths = _WIDTHS.get(type(obj))
    if not widths:
        return
    for name, width in widths.items():
        value = getattr(obj, name)
        fitted = fit(value, width)
        if fitted is not value and fitted != value:
            setattr(obj, name, fitted)


def fit(value: Any, width: int | None = None) -> Any:
    """`value` as its column holds it: strings without NULs and cut to `width`; the strings
    inside a JSON value (dicts and lists) without NULs."""
    if isinstance(value, str):
        clean = value.replace("\x00", "") if "\x00" in value else value
        return clean[:width] if width is not None and len(clean) > width else clean
    if isinstance(value, dict):
        return {fit(k): fit(v) for k, v in value.items()}
    if isinstance(value, list):
        return [fit(v) for v in value]
    return value
