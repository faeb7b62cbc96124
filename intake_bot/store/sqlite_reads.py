"""The queue listing read from an SQLite file with the standard library's driver (`QueueReads`).

`intake-bot queue` reads four things and writes nothing; through SQLAlchemy and the ORM mapping
it would spend ~0.3 s importing them first. These are the same queries as the repositories'
(`repositories.py`, `register_repos.py`), rows made into the same records (`sqlite_direct.py`).
The tables stay
defined once, in `tables.py`; `tests/integration/test_sqlite_reads.py` checks that both ways
read the same listing. Any other database, or a file that is not there yet, goes through the
store as usual.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from intake_bot.domain.records import Approval, InboundMessage, Request
from intake_bot.ports_reads import OpenQueueReads
from intake_bot.store.sqlite_direct import as_records, from_file_or, select_sql


def queue_reads(url: str, otherwise: OpenQueueReads) -> OpenQueueReads:
    """Reads straight from the file when `url` names an SQLite file that exists, else `otherwise`
    (the store's unit, whose errors name the setting as every other command's do)."""
    return from_file_or(url, otherwise, _Reads)


class _Reads:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._requests = _Requests(conn)
        self._messages = _Messages(conn)
        self._reference = _Reference(conn)
        self._organisations = _Organisations(conn)

    @property
    def requests(self) -> _Requests:
        return self._requests

    @property
    def messages(self) -> _Messages:
        return self._messages

    @property
    def reference(self) -> _Reference:
        return self._reference

    @property
    def organisations(self) -> _Organisations:
        return self._organisations


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
        sql = f"{select_sql(Request, 'request')} WHERE {' AND '.join(where)} ORDER BY id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return as_records(Request, self.conn.execute(sql, params))

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
            f"{select_sql(InboundMessage, 'inbound_message', leave_out=('raw',))}"
            " WHERE queue = ? AND request_id IS NULL ORDER BY id LIMIT ?"
        )
        # The raw email is not read (the store loads it only when asked, too): a listing never
        # needs it, and it can be megabytes a message.
        rows = self.conn.execute(sql, (queue, limit))
        return as_records(InboundMessage, rows, raw=b"")


class _Reference:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def approvals(self) -> list[Approval]:
        rows = self.conn.execute(f"{select_sql(Approval, 'approval')} ORDER BY reference")
        return as_records(Approval, rows)


class _Organisations:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def count_reviews(self, status: str) -> int:
        (n,) = self.conn.execute("SELECT count(*) FROM ods_review WHERE status = ?", (status,))
        return int(n[0])
