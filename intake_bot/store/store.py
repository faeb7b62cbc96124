"""The store: one engine, and units of work that are each one database transaction.

A unit implements `ports.Unit`: the repositories (`repositories.py`, `register_repos.py`,
`polling_state.py`) over one session, `add` and `flush`. Services hand it domain records, which
`mapping.py` maps onto the tables, so that SQL and rows stay in this package.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError, InvalidatePoolError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session, SQLModel, create_engine

from intake_bot.ports import DuplicateError, StoreError, StoreUnavailableError
from intake_bot.store.direct_insert import LaterEvents, insert_now
from intake_bot.store.mapping import map_records
from intake_bot.store.ods_repo import SqlOrganisations
from intake_bot.store.polling_state import SqlPolling
from intake_bot.store.register_repos import SqlNotices, SqlReference, SqlRegister
from intake_bot.store.repositories import SqlEvents, SqlMessages, SqlOutbox, SqlRequests
from intake_bot.store.staff_repo import SqlStaff
from intake_bot.store.urls import fail_fast_on_connect, prepare_database

T = TypeVar("T")


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and foreign keys."""
    if (problem := prepare_database(url)) is not None:  # and makes the SQLite file's folder
        raise StoreError(f"database.url: {problem}")
    if url.startswith("sqlite"):
        # Pooled: reconnecting per transaction costs ~1 ms and checkpoints the WAL each time.
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, echo=echo, pool_size=5, max_overflow=5)
    event.listen(engine, "checkin", _idle_from_now)
    event.listen(engine, "checkout", _pinger(engine.dialect))
    return engine


# A pooled connection is pinged before use only if it sat idle for this long: `pool_pre_ping`
# pings at every checkout, a round trip for each email filed. One handed back a moment ago that
# has died since fails its unit with StoreUnavailableError, as a connection cut mid-unit does
# (the poll stops and runs again; marking an email sent is tried again), and the pool drops it.
PING_AFTER_IDLE_SECONDS = 1.0


def _idle_from_now(_dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
    record.info["idle_since"] = time.monotonic()


def _pinger(dialect: Dialect) -> Callable[[Any, ConnectionPoolEntry, Any], None]:
    def ping_if_idle(dbapi_conn: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return  # new, or back a moment ago
        try:
            dialect.do_ping(dbapi_conn)
        except Exception as exc:  # as pool_pre_ping: this and every older connection go
            raise InvalidatePoolError(f"a pooled connection did not answer: {exc}") from exc

    return ping_if_idle


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before the message is moved or flagged in the mailbox and before
    # an email is marked sent. NORMAL (WAL) survives a process crash but may roll back the last
    # commits on a power loss, leaving a moved message never filed or a sent email to send again.
    cur.execute("PRAGMA synchronous=FULL")
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
        return cls(fail_fast_on_connect(make_engine(url)))

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
                unit.flush()
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
    """`ports.Unit` over one SQLAlchemy session (one transaction)."""

    def __init__(self, session: Session, is_postgres: bool) -> None:
        self.session = session
        self.is_postgres = is_postgres
        self.later = LaterEvents(session)
        self.messages = SqlMessages(session, is_postgres)
        self.requests = SqlRequests(session, is_postgres)
        self.events = SqlEvents(session, is_postgres)
        self.outbox = SqlOutbox(session, is_postgres)
        self.reference = SqlReference(session, is_postgres)
        self.register = SqlRegister(session, is_postgres)
        self.notices = SqlNotices(session, is_postgres)
        self.polling = SqlPolling(session, is_postgres)
        self.staff = SqlStaff(session, is_postgres)
        self.organisations = SqlOrganisations(session, is_postgres)

    # -- generic -------------------------------------------------------------------------------
    def add(self, row: T) -> T:
        # The busiest tables are written now, with their id; audit events just before they
        # are needed (see direct_insert.py); anything else at the next flush.
        if not self.later.add(row) and not insert_now(self.session, row):
            self.session.add(row)
        return row

    def flush(self) -> None:
        self.later.write()
        self.session.flush()
