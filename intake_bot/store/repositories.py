"""The SQL repositories behind the store port (`ports.py`): inbound mail, requests, the audit
trail and the outbox. Each works inside the session of one unit of work (one transaction).
Register, reference data and notices are in `register_repos.py`; polling state in
`polling_state.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import (
    and_,
    bindparam,
    exists,
    func,
    inspect,
    literal_column,
    or_,
    union_all,
    update,
)
from sqlalchemy import select as sa_select
from sqlalchemy.orm import undefer
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql import Executable
from sqlmodel import Session, col, select

from intake_bot.domain.queue_views import RequestQuery
from intake_bot.domain.records import Attachment, Event, InboundMessage, Outbox, Request
from intake_bot.ports import MessageRef, StoreError
from intake_bot.store import request_queries
from intake_bot.store.tables import (
    AttachmentRow,
    EventRow,
    InboundMessageRow,
    OutboxRow,
    RequestRow,
)

# Every automatic reply counts towards the per-sender hourly cap.
AUTO_REPLY_KINDS = (
    "ack_valid",
    "ack_problems",
    "no_form",
    "unreadable",
    "patient_data",
    "reply_not_applied",
    "form_not_applied",
)


class _Repository:
    def __init__(self, session: Session, is_postgres: bool) -> None:
        self.session = session
        self.is_postgres = is_postgres


# Recognising a filed message is asked once an email, so its query is built once, in Core,
# and only a message found is loaded through the ORM (a Core query costs a tenth of an ORM one).
_MSG = InboundMessageRow.__table__  # type: ignore[attr-defined]
_AT_LOCATION = and_(_MSG.c.mailbox == bindparam("mailbox"), _MSG.c.location == bindparam("key"))
_FIND_AT = select(_MSG.c.id).where(_AT_LOCATION).limit(1)
# Two lookups, each on its unique index, rather than one query with OR: PostgreSQL keeps one
# generic plan for a statement psycopg has prepared, and for the OR form a plan made while the
# table was small is a scan of the whole table (0.45 ms a message at 1,000 emails, 4.6 ms at
# 10,000, until the next ANALYZE). An equality on a unique index is planned as an index scan
# at any size.
_FIND_AT_OR_KEY = (
    union_all(
        sa_select(_MSG.c.id, literal_column("0").label("rank")).where(_AT_LOCATION),
        sa_select(_MSG.c.id, literal_column("1").label("rank")).where(
            _MSG.c.dedupe_key == bindparam("dedupe_key")
        ),
    )
    .order_by(literal_column("rank"))
    .limit(1)
)
_LINK = update(_MSG).where(_MSG.c.id == bindparam("mid")).values(request_id=bindparam("rid"))


class SqlMessages(_Repository):
    def find(self, ref: MessageRef, dedupe_key: str | None = None) -> InboundMessage | None:
        """The message filed from `ref`, else the one filed under `dedupe_key`: one query, the
        location first, so that a replay is always matched with itself (never with another
        message that shares its Message-ID)."""
        params = {"mailbox": ref.mailbox, "key": ref.key}
        stmt: Executable = _FIND_AT
        if dedupe_key is not None:
            stmt, params["dedupe_key"] = _FIND_AT_OR_KEY, dedupe_key
        self.session.flush()  # as the ORM's own query would (nothing to do in the common case)
        found = self.session.connection().execute(stmt, params).scalar()
        return None if found is None else self.session.get(InboundMessage, found)

    def get(self, inbound_id: int) -> InboundMessage | None:
        return self.session.get(InboundMessage, inbound_id)

    def link_request(self, message: InboundMessage, request_id: int | None) -> None:
        """One Core UPDATE now, instead of the unit of work's flush at commit (about 0.3 ms of
        Python a filed email); the session then holds the value as written."""
        if request_id is None:
            return
        if message.id is None:  # not written yet: its INSERT will carry the value
            message.request_id = request_id
            return
        self.session.connection().execute(_LINK, {"mid": message.id, "rid": request_id})
        set_committed_value(message, "request_id", request_id)

    def raw(self, inbound_id: int) -> bytes:
        row = self.session.get(InboundMessage, inbound_id)
        if row is None:
            raise StoreError(f"message {inbound_id} vanished")
        return row.raw

    def in_queue(self, queue: str, limit: int = 1000) -> list[InboundMessage]:
        stmt = (
            select(InboundMessage)
            .where(
                col(InboundMessageRow.queue) == queue, col(InboundMessageRow.request_id).is_(None)
            )
            .order_by(col(InboundMessageRow.id))
            .limit(limit)
        )
        return list(self.session.exec(stmt))

    def replies_to(self, request_id: int) -> list[InboundMessage]:
        stmt = (
            select(InboundMessage)
            .where(
                col(InboundMessageRow.request_id) == request_id,
                col(InboundMessageRow.outcome) == "reply",
            )
            .order_by(col(InboundMessageRow.id))
        )
        return list(self.session.exec(stmt))

    def outcome_counts(self) -> dict[str, int]:
        stmt = select(InboundMessageRow.outcome, func.count()).group_by(InboundMessageRow.outcome)
        return {outcome: int(n) for outcome, n in self.session.exec(stmt).all()}

    def attachments(self, inbound_id: int) -> list[Attachment]:
        stmt = (
            select(Attachment)
            .where(col(AttachmentRow.inbound_id) == inbound_id)
            .order_by(col(AttachmentRow.id))
        )
        return list(self.session.exec(stmt))

    def purgeable(self, hold: str, closed: Sequence[str], before: datetime) -> list[int]:
        msg, req = InboundMessageRow, RequestRow
        kept = func.length(msg.raw) > 0
        reviewed_hold = and_(
            col(msg.outcome) == "quarantined",
            col(msg.queue).is_(None),
            func.lower(col(msg.note)).contains(hold.lower()),
        )
        tied = or_(col(req.inbound_id) == col(msg.id), col(req.id) == col(msg.request_id))
        still_open = or_(col(req.status).not_in(list(closed)), col(req.updated_at) >= before)
        all_closed = and_(
            exists(select(req.id).where(tied)), ~exists(select(req.id).where(tied, still_open))
        )
        stmt = select(msg.id).where(kept, or_(reviewed_hold, all_closed)).order_by(col(msg.id))
        return [int(i) for i in self.session.exec(stmt) if i is not None]

    def purge(self, inbound_id: int) -> int:
        sizes = self.session.exec(
            select(func.length(AttachmentRow.data)).where(
                col(AttachmentRow.inbound_id) == inbound_id
            )
        ).all()
        raw = self.session.exec(
            select(func.length(InboundMessageRow.raw)).where(
                col(InboundMessageRow.id) == inbound_id
            )
        ).one_or_none()
        self.session.execute(
            update(InboundMessageRow).where(col(InboundMessageRow.id) == inbound_id).values(raw=b"")
        )
        self.session.execute(
            update(AttachmentRow)
            .where(col(AttachmentRow.inbound_id) == inbound_id)
            .values(data=b"")
        )
        return int(raw or 0) + sum(int(n or 0) for n in sizes)


class SqlRequests(_Repository):
    def get(self, request_id: int) -> Request | None:
        return self.session.get(Request, request_id)

    def matching(
        self,
        *,
        queue: str | None = None,
        statuses: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[Request]:
        stmt = select(Request)
        if queue:
            stmt = stmt.where(col(RequestRow.queue) == queue)
        if statuses:
            stmt = stmt.where(col(RequestRow.status).in_(statuses))
        return list(self.session.exec(stmt.order_by(col(RequestRow.id)).limit(limit)))

    def for_inbound(self, inbound_id: int) -> list[Request]:
        stmt = (
            select(Request)
            .where(col(RequestRow.inbound_id) == inbound_id)
            .order_by(col(RequestRow.id))
        )
        return list(self.session.exec(stmt))

    def queue_summary(
        self, open_statuses: Sequence[str], today: date
    ) -> list[tuple[str, int, int]]:
        return request_queries.queue_summary(self.session, open_statuses, today)

    def browse(self, query: RequestQuery) -> tuple[list[Request], int]:
        return request_queries.browse(self.session, query)

    def queue_counts(self, open_statuses: Sequence[str]) -> list[tuple[str, int]]:
        req = self.session.exec(
            select(RequestRow.queue, func.count())
            .where(col(RequestRow.status).in_(open_statuses))
            .group_by(RequestRow.queue)
        ).all()
        msg = self.session.exec(
            select(InboundMessageRow.queue, func.count())
            .where(
                col(InboundMessageRow.queue).is_not(None),
                col(InboundMessageRow.request_id).is_(None),
            )
            .group_by(InboundMessageRow.queue)
        ).all()
        counts: dict[str, int] = {}
        for queue, n in [*req, *msg]:
            if queue:
                counts[queue] = counts.get(queue, 0) + n
        return sorted(counts.items())

    def for_outgoing(self, message_ids: Sequence[str]) -> int | None:
        if not message_ids:
            return None
        stmt = select(OutboxRow.request_id, OutboxRow.inbound_id).where(
            col(OutboxRow.message_id).in_(list(message_ids))
        )
        for request_id, inbound_id in self.session.exec(stmt):
            if request_id is not None:
                return request_id
            if inbound_id is not None:
                first = self.for_inbound(inbound_id)
                if first:
                    return first[0].id
        return None

    def naming(self, reference: str) -> list[int]:
        # The form's value as validation stored it: always "LCR-" and six digits.
        named = col(RequestRow.values)["existing_reference"].as_string() == reference
        stmt = select(RequestRow.id).where(named).order_by(col(RequestRow.id))
        return [i for i in self.session.exec(stmt) if i is not None]


class SqlEvents(_Repository):
    def for_(self, *, request_id: int | None = None, inbound_id: int | None = None) -> list[Event]:
        stmt = select(Event)
        if request_id is not None:
            stmt = stmt.where(col(EventRow.request_id) == request_id)
        if inbound_id is not None:
            stmt = stmt.where(col(EventRow.inbound_id) == inbound_id)
        return list(self.session.exec(stmt.order_by(col(EventRow.id))))

    def mentioning(self, text: str, actions: Sequence[str]) -> list[Event]:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = select(Event).where(
            col(EventRow.action).in_(actions),
            col(EventRow.note).like(f"%{escaped}%", escape="\\"),
        )
        return list(self.session.exec(stmt.order_by(col(EventRow.id))))


_OUT = OutboxRow.__table__  # type: ignore[attr-defined]
# Asked for every automatic reply (the per-sender cap): built once, in Core.
# Replies to one email count once: a row with no email (none is automatic) counts alone.
_AUTO_REPLIES = select(func.count(func.coalesce(_OUT.c.inbound_id, -_OUT.c.id).distinct())).where(
    _OUT.c.first_recipient == bindparam("recipient"),
    _OUT.c.kind.in_(AUTO_REPLY_KINDS),
    _OUT.c.created_at >= bindparam("since"),
    _OUT.c.inbound_id.is_distinct_from(bindparam("besides")),
)


class SqlOutbox(_Repository):
    def for_(self, *, request_id: int | None = None, inbound_id: int | None = None) -> list[Outbox]:
        stmt = select(Outbox)
        if request_id is not None:
            stmt = stmt.where(col(OutboxRow.request_id) == request_id)
        if inbound_id is not None:
            stmt = stmt.where(col(OutboxRow.inbound_id) == inbound_id)
        return list(self.session.exec(stmt.order_by(col(OutboxRow.id))))

    def get(self, outbox_id: int) -> Outbox | None:
        return self.session.get(Outbox, outbox_id)

    def emails_answered_since(
        self, recipient: str, since: datetime, *, besides: int | None = None
    ) -> int:
        besides = besides or 0  # no such email (ids start at 1): a NULL would leave out rows
        params = {"recipient": recipient, "since": since, "besides": besides}
        stored = self.session.connection().execute(_AUTO_REPLIES, params).scalar_one()
        # The unit's own replies not yet written are counted here rather than flushed first
        # (most are written already: see direct_insert.py); one unit files one email.
        pending = {
            row.inbound_id or -id(row)
            for row in self.session.new
            if isinstance(row, Outbox)
            and row.first_recipient == recipient
            and row.kind in AUTO_REPLY_KINDS
            and row.created_at >= since
            and row.inbound_id != besides
        }
        return int(stored) + len(pending)

    def claim(self, now: datetime, lease: timedelta, limit: int) -> list[Outbox]:
        stmt = (
            select(Outbox)
            .where(
                # "sending": a crashed sender's claim, once it has expired
                col(OutboxRow.status).in_(("pending", "sending")),
                col(OutboxRow.next_attempt_at) <= now,
            )
            .order_by(col(OutboxRow.next_attempt_at), col(OutboxRow.id))
            .limit(limit)
            .options(undefer(inspect(Outbox).attrs["raw"].class_attribute))
        )
        if self.is_postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list(self.session.exec(stmt))
        for row in rows:
            row.status = "sending"
            row.next_attempt_at = now + lease
        return rows

    def raw(self, outbox_id: int) -> bytes:
        row = self.session.get(Outbox, outbox_id)
        if row is None:
            raise StoreError(f"outbox row {outbox_id} vanished")
        return row.raw

    def mark_sent(self, outbox_id: int, now: datetime) -> None:
        self.session.execute(
            update(Outbox)
            .where(col(OutboxRow.id) == outbox_id)
            .values(status="sent", sent_at=now, last_error="")
        )

    def mark_failed(
        self, outbox_id: int, error: str, *, next_attempt_at: datetime, give_up: bool
    ) -> None:
        row = self.session.get(Outbox, outbox_id)
        if row is None:
            return
        row.attempts += 1
        row.last_error = error
        row.status = "failed" if give_up else "pending"
        row.next_attempt_at = next_attempt_at

    def release_claims(self, outbox_ids: Sequence[int], now: datetime) -> None:
        self.session.execute(
            update(Outbox)
            .where(col(OutboxRow.id).in_(outbox_ids), col(OutboxRow.status) == "sending")
            .values(status="pending", next_attempt_at=now)
        )

    def retry_failed(self, now: datetime) -> int:
        result = self.session.execute(
            update(Outbox)
            .where(col(OutboxRow.status) == "failed")
            .values(status="pending", next_attempt_at=now, attempts=0)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def counts(self) -> dict[str, int]:
        rows = self.session.exec(
            select(OutboxRow.status, func.count()).group_by(OutboxRow.status)
        ).all()
        return dict(rows)

    def recent_failures(self, limit: int = 10) -> list[Outbox]:
        stmt = (
            select(Outbox)
            .where(col(OutboxRow.last_error) != "", col(OutboxRow.status) != "sent")
            .order_by(col(OutboxRow.id).desc())
            .limit(limit)
        )
        return list(self.session.exec(stmt))
