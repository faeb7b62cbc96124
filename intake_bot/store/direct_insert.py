"""New rows of the busiest tables written at once, with Core, instead of at the next flush.

An ORM flush costs about 0.2 ms of Python for one row (0.1 ms a row in a batch), and filing
an email needs its rows' ids part way (the attachments point at the message, the request's
reference is its id, the audit events point at all three), so a message took four flushes.
A Core INSERT costs about 0.03 ms. The row is then attached to the session as if it had just
been loaded, so that a later change to it is still written by the unit of work, at its flush.

Only records whose id the database gives (`id` None) of the tables below take this path;
anything else is added to the session as before. The transaction is the unit's, so a unit
that rolls back leaves none of these rows behind.

Audit events are not among those tables: they go further (`LaterEvents`). Nothing reads an
event's id, so they wait and are written together, in the order they were added, when the unit
next needs the database to hold them: a query through the ORM, a flush, the commit. An email's
two or three events are then one statement, and on PostgreSQL every statement is a round trip.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Insert, Table, event
from sqlalchemy.orm import ORMExecuteState, Session, make_transient_to_detached

from intake_bot.domain import records as r
from intake_bot.ports import StoreError
from intake_bot.store import tables as t
from intake_bot.store.mapping import fit_record

_ROWS: dict[type[Any], Any] = {
    r.InboundMessage: t.InboundMessageRow,
    r.Attachment: t.AttachmentRow,
    r.Request: t.RequestRow,
    r.Outbox: t.OutboxRow,
}
# record class -> its table and one INSERT statement (built once: building one costs more
# than SQLAlchemy's compiled cache saves)
_TABLES: dict[type[Any], tuple[Table, Insert]] = {
    record: (row.__table__, row.__table__.insert()) for record, row in _ROWS.items()
}


def insert_now(session: Session, record: Any) -> bool:
    """Write `record` now and attach it to `session` with its id; False if it is not one of
    ours to write this way (the caller then adds it to the session as usual)."""
    found = _TABLES.get(type(record))
    if found is None or record.id is not None:
        return False
    table, insert = found
    fit_record(record)
    state = record.__dict__
    values: dict[str, Any] = {}
    expire: list[str] = []
    for column in table.columns:
        if column.primary_key:
            continue
        value = state.get(column.key)
        if value is None:
            # As the ORM does: a None is left out, so that the column's default applies,
            # and an attribute the database filled in is read back when it is first used.
            if column.default is not None or column.server_default is not None:
                expire.append(column.key)
            continue
        values[column.key] = value
    key = session.connection().execute(insert, values).inserted_primary_key
    if key is None:  # only for a statement that is not an INSERT
        raise StoreError(f"no id for the new {type(record).__name__}")
    record.id = key[0]
    make_transient_to_detached(record)  # as if loaded: nothing pending, its id its identity
    session.add(record)
    if expire:
        session.expire(record, expire)
    return True


_EVENTS: Table = t.EventRow.__table__  # type: ignore[attr-defined]
_INSERT_EVENTS = _EVENTS.insert()
_EVENT_COLUMNS = [c.key for c in _EVENTS.columns if not c.primary_key]
_LATER = "intake_bot.later_events"  # the key of a session's LaterEvents in `session.info`


class LaterEvents:
    """The audit events a unit has added and not yet written (see the module's docstring)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.events: list[r.Event] = []
        session.info[_LATER] = self

    def add(self, record: Any) -> bool:
        """Keep `record` to write later; False if it is not a new event."""
        if type(record) is not r.Event or record.id is not None:
            return False
        fit_record(record)
        self.events.append(record)
        return True

    def write(self) -> None:
        if not self.events:
            return
        events, self.events = self.events, []
        # Every column in every row: one statement needs the same keys in each (executemany).
        rows = [{key: getattr(e, key) for key in _EVENT_COLUMNS} for e in events]
        self.session.connection().execute(_INSERT_EVENTS, rows)


@event.listens_for(Session, "do_orm_execute")
def _events_before_orm_queries(state: ORMExecuteState) -> None:
    """An ORM query in a unit sees the events it added, as it would see any row it flushed."""
    later = state.session.info.get(_LATER)
    if later is not None:
        later.write()
