"""The queue listing read from an SQLite file with the standard library's driver (`QueueReads`).

`intake-bot queue` reads four things and writes nothing; through SQLAlchemy and the ORM mapping
it would spend ~0.3 s importing them first. These are the same queries as the repositories'
(`repositories.py`, `register_repos.py`), rows made into the same records. The tables stay
defined once, in `tables.py`; `tests/integration/test_sqlite_reads.py` checks that both ways
read the same listing. Any other database, or a file that is not there yet, goes through the
store as usual.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import fields
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit

from intake_bot.domain.records import Approval, InboundMessage, Request
from intake_bot.ports import StoreUnavailableError
from intake_bot.ports_reads import OpenQueueReads, QueueReads

R = TypeVar("R")


def queue_reads(url: str, otherwise: OpenQueueReads) -> OpenQueueReads:
    """Reads straight from the file when `url` names an SQLite file that exists, else `otherwise`
    (the store's unit, whose errors name the setting as every other command's do)."""
    parts = urlsplit(url)
    path = Path(unquote(parts.path)[1:])  # sqlite:///var/x.db -> var/x.db
    if parts.scheme not in ("sqlite", "sqlite+pysqlite") or parts.query or parts.netloc:
        return otherwise
    if str(path) in ("", ".", ":memory:"):
        return otherwise

    def open_reads() -> AbstractContextManager[QueueReads]:
        return _reading(path) if path.is_file() else otherwise()

    return open_reads


@contextmanager
def _reading(path: Path) -> Iterator[QueueReads]:
    try:
        conn = sqlite3.connect(f"file:{quote(str(path.absolute()))}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StoreUnavailableError(str(exc)) from exc
    try:
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("BEGIN")  # one snapshot for every query, as a unit's transaction is
        yield _Reads(conn)
    except sqlite3.OperationalError as exc:  # locked, no such table: as the store reports it
        raise StoreUnavailableError(str(exc)) from exc
    finally:
        conn.close()


class _Reads:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._requests = _Requests(conn)
        self._messages = _Messages(conn)
        self._reference = _Reference(conn)

    @property
    def requests(self) -> _Requests:
        return self._requests

    @property
    def messages(self) -> _Messages:
        return self._messages

    @property
    def reference(self) -> _Reference:
        return self._reference


class _Requests:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def matching(
        self,
        *,
        queue: str | None = None,
        statuses: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[Request]:
        where, params = ["1 = 1"], []
        if queue:
            where.append("queue = ?")
            params.append(queue)
        if statuses:
            where.append(f"status IN ({', '.join('?' * len(statuses))})")
            params += statuses
        sql = f"{_select(Request, 'request')} WHERE {' AND '.join(where)} ORDER BY id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return _records(Request, self.conn.execute(sql, params))

    def queue_counts(self, open_statuses: Sequence[str]) -> list[tuple[str, int]]:
        marks = ", ".join("?" * len(open_statuses))
        requests = self.conn.execute(
            f"SELECT queue, count(*) FROM request WHERE status IN ({marks}) GROUP BY queue",
            list(open_statuses),
        )
        messages = self.conn.execute(
            "SELECT queue, count(*) FROM inbound_message"
            " WHERE queue IS NOT NULL AND request_id IS NULL GROUP BY queue"
        )
        counts: dict[str, int] = {}
        for queue, n in [*requests, *messages]:
            if queue:
                counts[queue] = counts.get(queue, 0) + n
        return sorted(counts.items())


class _Messages:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def in_queue(self, queue: str, limit: int = 1000) -> list[InboundMessage]:
        sql = (
            f"{_select(InboundMessage, 'inbound_message', leave_out=('raw',))}"
            " WHERE queue = ? AND request_id IS NULL ORDER BY id LIMIT ?"
        )
        # The raw email is not read (the store loads it only when asked, too): a listing never
        # needs it, and it can be megabytes a message.
        rows = self.conn.execute(sql, (queue, limit))
        return _records(InboundMessage, rows, raw=b"")


class _Reference:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def approvals(self) -> list[Approval]:
        rows = self.conn.execute(f"{_select(Approval, 'approval')} ORDER BY reference")
        return _records(Approval, rows)


def _select(record: type[Any], table: str, leave_out: tuple[str, ...] = ()) -> str:
    columns = ", ".join(f'"{f.name}"' for f in fields(record) if f.name not in leave_out)
    return f"SELECT {columns} FROM {table}"


def _records(record: type[R], rows: sqlite3.Cursor, **given: Any) -> list[R]:
    """Each row (its columns named as `record`'s fields) as a `record`, values as the store
    gives them: aware UTC datetimes, dates, JSON decoded."""
    names = [d[0] for d in rows.description]
    convert = _converters(record)

    def value(name: str, v: Any) -> Any:
        return None if v is None else convert[name](v)

    return [
        record(**given, **{n: value(n, v) for n, v in zip(names, row, strict=True)}) for row in rows
    ]


def _converters(record: type[Any]) -> dict[str, Callable[[Any], Any]]:
    # Field types are strings (postponed annotations): "datetime | None", "dict[str, Any]" ...
    out: dict[str, Callable[[Any], Any]] = {}
    for f in fields(record):
        kind = str(f.type)
        if kind.startswith("datetime"):
            out[f.name] = _utc
        elif kind.startswith("date"):
            out[f.name] = date.fromisoformat
        elif kind.startswith(("dict", "list")):
            out[f.name] = json.loads
        elif kind.startswith("bool"):
            out[f.name] = bool
        else:
            out[f.name] = _same
    return out


def _utc(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _same(value: Any) -> Any:
    return value
