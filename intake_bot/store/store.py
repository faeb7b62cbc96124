"""The store: one engine, and units of work that are each one database transaction.

Services build rows (the classes in `tables`) and hand them to a unit; the queries they need are
methods here, so that SQL stays in this package.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, and_, event, func, inspect, or_, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import undefer
from sqlmodel import Session, SQLModel, col, create_engine, select

from intake_bot.domain.records import (
    Approval,
    Attachment,
    DigestLog,
    Event,
    InboundMessage,
    Organisation,
    Outbox,
    Request,
)
from intake_bot.ports import MessageRef
from intake_bot.store.mapping import map_records
from intake_bot.store.tables import (
    ApprovalRow,
    AttachmentRow,
    DigestLogRow,
    EventRow,
    InboundMessageRow,
    Lease,
    MailboxCursor,
    OrganisationRow,
    OutboxRow,
    ProcessingAttempt,
    RequestRow,
)

T = TypeVar("T")

AUTO_REPLY_KINDS = ("ack_valid", "ack_problems", "no_form", "unreadable")


class StoreError(Exception):
    """The database refused or could not be reached."""


class DuplicateError(StoreError):
    """A unique constraint fired: someone filed the same thing first (another worker)."""


class StoreUnavailableError(StoreError):
    """The database could not be reached or is locked; try again later."""


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and foreign keys."""
    if url.startswith("sqlite"):
        # Pooled: reconnecting per transaction costs ~1 ms and checkpoints the WAL each time.
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")  # durable with WAL across a process crash
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MB: every message adds ~100 KB of archive
    cur.close()


class Store:
    def __init__(self, engine: Engine) -> None:
        map_records()
        self.engine = engine
        self.is_postgres = engine.dialect.name == "postgresql"

    @classmethod
    def from_url(cls, url: str) -> Store:
        return cls(make_engine(url))

    def create_all(self) -> None:
        """Create the tables directly (tests); deployments use `intake-bot db upgrade`."""
        SQLModel.metadata.create_all(self.engine)

    @contextmanager
    def unit(self) -> Iterator[Unit]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with Session(self.engine, expire_on_commit=False) as session:
            unit = Unit(session, self.is_postgres)
            try:
                yield unit
                session.commit()
            except IntegrityError as exc:
                session.rollback()
                raise DuplicateError(str(exc.orig)) from exc
            except OperationalError as exc:
                session.rollback()
                raise StoreUnavailableError(str(exc.orig)) from exc
            except DBAPIError as exc:
                session.rollback()
                if exc.connection_invalidated:
                    raise StoreUnavailableError(str(exc.orig)) from exc
                raise
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()


class Unit:
    """The operations available inside one transaction."""

    def __init__(self, session: Session, is_postgres: bool) -> None:
        self.session = session
        self.is_postgres = is_postgres

    # -- generic -------------------------------------------------------------------------------
    def add(self, row: T) -> T:
        self.session.add(row)
        return row

    def flush(self) -> None:
        self.session.flush()

    def get(self, model: type[T], key: Any) -> T | None:
        return self.session.get(model, key)

    # -- mailbox state ---------------------------------------------------------------------------
    def cursor(self, mailbox: str) -> MailboxCursor | None:
        return self.session.get(MailboxCursor, mailbox)

    def set_cursor(self, mailbox: str, uidvalidity: int, last_uid: int, now: datetime) -> None:
        row = self.session.get(MailboxCursor, mailbox)
        if row is None:
            self.session.add(
                MailboxCursor(
                    mailbox=mailbox, uidvalidity=uidvalidity, last_uid=last_uid, updated_at=now
                )
            )
            return
        if row.uidvalidity != uidvalidity or last_uid > row.last_uid:
            row.uidvalidity, row.last_uid, row.updated_at = uidvalidity, last_uid, now

    def record_attempt(self, ref: MessageRef, now: datetime) -> int:
        """Count one more attempt at `ref` and return the count (the caller commits first)."""
        key = (ref.mailbox, ref.uidvalidity, ref.uid)
        row = self.session.get(ProcessingAttempt, key)
        if row is None:
            row = ProcessingAttempt(
                mailbox=ref.mailbox,
                uidvalidity=ref.uidvalidity,
                uid=ref.uid,
                attempts=0,
                updated_at=now,
            )
            self.session.add(row)
        row.attempts += 1
        row.updated_at = now
        return row.attempts

    def start_batch(self, refs: Sequence[MessageRef], now: datetime) -> bool:
        """Count one attempt at each of `refs` in one go, if none was tried before.

        False (and nothing counted) when some were: a replay after a crash, to be taken one
        message at a time so that only the message that crashes is blamed.
        """
        if not refs:
            return True
        mailbox, uidvalidity = refs[0].mailbox, refs[0].uidvalidity
        tried = self.session.exec(
            select(func.count())
            .select_from(ProcessingAttempt)
            .where(
                col(ProcessingAttempt.mailbox) == mailbox,
                col(ProcessingAttempt.uidvalidity) == uidvalidity,
                col(ProcessingAttempt.uid).in_([r.uid for r in refs]),
            )
        ).one()
        if tried:
            return False
        for ref in refs:
            self.session.add(
                ProcessingAttempt(
                    mailbox=ref.mailbox,
                    uidvalidity=ref.uidvalidity,
                    uid=ref.uid,
                    attempts=1,
                    updated_at=now,
                )
            )
        return True

    def note_attempt_error(self, ref: MessageRef, error: str) -> None:
        row = self.session.get(ProcessingAttempt, (ref.mailbox, ref.uidvalidity, ref.uid))
        if row is not None:
            row.last_error = error[:2000]

    def attempt_error(self, ref: MessageRef) -> str:
        row = self.session.get(ProcessingAttempt, (ref.mailbox, ref.uidvalidity, ref.uid))
        return row.last_error if row else ""

    def take_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Hold `name` until now+ttl unless someone else holds it unexpired."""
        row = self.session.get(Lease, name, with_for_update=self.is_postgres)
        if row is None:
            self.session.add(Lease(name=name, holder=holder, expires_at=now + ttl))
            return True
        if row.holder != holder and row.expires_at > now:
            return False
        row.holder, row.expires_at = holder, now + ttl
        return True

    def release_lease(self, name: str, holder: str, now: datetime) -> None:
        # Expire, not delete: a kept row is locked FOR UPDATE by the next taker, whereas two
        # workers inserting a missing row at once would collide.
        row = self.session.get(Lease, name)
        if row is not None and row.holder == holder:
            row.expires_at = now

    # -- inbound ---------------------------------------------------------------------------------
    def find_inbound(self, ref: MessageRef, dedupe_key: str | None = None) -> InboundMessage | None:
        """The message filed from this location, or with this Message-ID/hash, if any."""
        at_location = and_(
            col(InboundMessageRow.mailbox) == ref.mailbox,
            col(InboundMessageRow.uidvalidity) == ref.uidvalidity,
            col(InboundMessageRow.uid) == ref.uid,
        )
        condition = at_location
        if dedupe_key is not None:
            condition = or_(at_location, col(InboundMessageRow.dedupe_key) == dedupe_key)
        return self.session.exec(select(InboundMessage).where(condition).limit(1)).first()

    def inbound_by_id(self, inbound_id: int) -> InboundMessage | None:
        return self.session.get(InboundMessage, inbound_id)

    # -- requests --------------------------------------------------------------------------------
    def request(self, request_id: int) -> Request | None:
        return self.session.get(Request, request_id)

    def requests(
        self,
        *,
        queue: str | None = None,
        statuses: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[Request]:
        stmt = select(Request)
        if queue:
            stmt = stmt.where(RequestRow.queue == queue)
        if statuses:
            stmt = stmt.where(col(RequestRow.status).in_(statuses))
        return list(self.session.exec(stmt.order_by(col(RequestRow.id)).limit(limit)))

    def requests_for_inbound(self, inbound_id: int) -> list[Request]:
        stmt = (
            select(Request).where(RequestRow.inbound_id == inbound_id).order_by(col(RequestRow.id))
        )
        return list(self.session.exec(stmt))

    def queue_counts(self, open_statuses: Sequence[str]) -> list[tuple[str, int]]:
        """(queue, number of open requests) for requests and for messages without one."""
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

    def inbound_in_queue(self, queue: str, limit: int = 1000) -> list[InboundMessage]:
        stmt = (
            select(InboundMessage)
            .where(InboundMessageRow.queue == queue, col(InboundMessageRow.request_id).is_(None))
            .order_by(col(InboundMessageRow.id))
            .limit(limit)
        )
        return list(self.session.exec(stmt))

    def replies_to(self, request_id: int) -> list[InboundMessage]:
        """Emails threaded onto a request after the one that filed it."""
        stmt = (
            select(InboundMessage)
            .where(InboundMessageRow.request_id == request_id, InboundMessageRow.outcome == "reply")
            .order_by(col(InboundMessageRow.id))
        )
        return list(self.session.exec(stmt))

    def request_for_outgoing(self, message_ids: Sequence[str]) -> int | None:
        """The request one of our emails (by Message-ID) was about, if any."""
        if not message_ids:
            return None
        stmt = select(OutboxRow.request_id, OutboxRow.inbound_id).where(
            col(OutboxRow.message_id).in_(list(message_ids))
        )
        for request_id, inbound_id in self.session.exec(stmt):
            if request_id is not None:
                return request_id
            if inbound_id is not None:
                first = self.requests_for_inbound(inbound_id)
                if first:
                    return first[0].id
        return None

    def attachments(self, inbound_id: int) -> list[Attachment]:
        stmt = (
            select(Attachment)
            .where(AttachmentRow.inbound_id == inbound_id)
            .order_by(col(AttachmentRow.id))
        )
        return list(self.session.exec(stmt))

    def events(
        self, *, request_id: int | None = None, inbound_id: int | None = None
    ) -> list[Event]:
        stmt = select(Event)
        if request_id is not None:
            stmt = stmt.where(EventRow.request_id == request_id)
        if inbound_id is not None:
            stmt = stmt.where(EventRow.inbound_id == inbound_id)
        return list(self.session.exec(stmt.order_by(col(EventRow.id))))

    # -- outbox ----------------------------------------------------------------------------------
    def auto_replies_since(self, recipient: str, since: datetime) -> int:
        stmt = select(func.count()).where(
            OutboxRow.first_recipient == recipient,
            col(OutboxRow.kind).in_(AUTO_REPLY_KINDS),
            col(OutboxRow.created_at) >= since,
        )
        return int(self.session.exec(stmt).one())

    def outbox_for(
        self, *, request_id: int | None = None, inbound_id: int | None = None
    ) -> list[Outbox]:
        stmt = select(Outbox)
        if request_id is not None:
            stmt = stmt.where(OutboxRow.request_id == request_id)
        if inbound_id is not None:
            stmt = stmt.where(OutboxRow.inbound_id == inbound_id)
        return list(self.session.exec(stmt.order_by(col(OutboxRow.id))))

    def claim_outbox(self, now: datetime, lease: timedelta, limit: int) -> list[Outbox]:
        """Due rows, marked `sending` until now+lease so that no other worker takes them."""
        stmt = (
            select(Outbox)
            .where(
                or_(
                    col(OutboxRow.status) == "pending",
                    col(OutboxRow.status) == "sending",  # a crashed sender's claim, once it expires
                ),
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

    def outbox_raw(self, outbox_id: int) -> bytes:
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

    def mark_send_failed(
        self, outbox_id: int, error: str, *, next_attempt_at: datetime, give_up: bool
    ) -> None:
        row = self.session.get(Outbox, outbox_id)
        if row is None:
            return
        row.attempts += 1
        row.last_error = error[:2000]
        row.status = "failed" if give_up else "pending"
        row.next_attempt_at = next_attempt_at

    def release_claims(self, outbox_ids: Sequence[int], now: datetime) -> None:
        self.session.execute(
            update(Outbox)
            .where(col(OutboxRow.id).in_(outbox_ids), col(OutboxRow.status) == "sending")
            .values(status="pending", next_attempt_at=now)
        )

    def retry_failed(self, now: datetime) -> int:
        """Put every failed email back in the queue (after staff fixed the cause)."""
        result = self.session.execute(
            update(Outbox)
            .where(col(OutboxRow.status) == "failed")
            .values(status="pending", next_attempt_at=now, attempts=0)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def outbox_counts(self) -> dict[str, int]:
        rows = self.session.exec(
            select(OutboxRow.status, func.count()).group_by(OutboxRow.status)
        ).all()
        return dict(rows)

    # -- reference data --------------------------------------------------------------------------
    def organisations(self) -> list[Organisation]:
        return list(self.session.exec(select(Organisation).order_by(col(OrganisationRow.ods))))

    def known_ods(self) -> frozenset[str]:
        return frozenset(self.session.exec(select(OrganisationRow.ods)).all())

    def approvals(self) -> list[Approval]:
        return list(self.session.exec(select(Approval).order_by(col(ApprovalRow.reference))))

    def last_digest(self, office: str, up_to: date) -> DigestLog | None:
        stmt = (
            select(DigestLog)
            .where(DigestLogRow.office == office, col(DigestLogRow.day) <= up_to)
            .order_by(col(DigestLogRow.day).desc())
            .limit(1)
        )
        return self.session.exec(stmt).first()

    def organisation_contacts(self, ods_codes: Sequence[str]) -> set[str]:
        """The registered contacts (lower-cased) of these organisations."""
        stmt = select(Organisation).where(col(OrganisationRow.ods).in_(list(ods_codes)))
        return {c.lower() for org in self.session.exec(stmt) for c in org.contacts}

    def upsert_organisation(self, org: Organisation) -> None:
        self.session.merge(org)

    def count_approvals(self) -> int:
        return int(self.session.exec(select(func.count()).select_from(Approval)).one())
