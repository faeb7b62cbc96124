"""Reading an SQLite file with the standard library's driver, for the commands that must start
fast (`sqlite_reads.py`: the queue listing; `sqlite_parse_reads.py`: what `parse` reads).

Through SQLAlchemy and the ORM mapping such a command would spend ~0.3 s importing them first.
The file is opened read-only in one transaction (one snapshot, as a store unit's); rows are made
into the same records the repositories return. Any other database, or a file that is not there
yet, goes through the store as usual.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import fields
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit

from intake_bot.ports import StoreUnavailableError

R = TypeVar("R")
T = TypeVar("T")


def sqlite_file(url: str) -> Path | None:
    """The file `url` names when it is a plain SQLite file URL (else None: the store's way)."""
    parts = urlsplit(url)
    if parts.scheme not in ("sqlite", "sqlite+pysqlite") or parts.query or parts.netloc:
        return None
    path = Path(unquote(parts.path)[1:])  # sqlite:///var/x.db -> var/x.db
    return None if str(path) in ("", ".", ":memory:") else path


def from_file_or(
    url: str,
    otherwise: Callable[[], AbstractContextManager[T]],
    reads: Callable[[sqlite3.Connection], T],
) -> Callable[[], AbstractContextManager[T]]:
    """Opens `reads` on the file when `url` names an SQLite file that exists, else `otherwise`
    (the store's unit, whose errors name the setting as every other command's do)."""
    path = sqlite_file(url)
    if path is None:
        return otherwise

    def open_reads() -> AbstractContextManager[T]:
        return _reading(path, reads) if path.is_file() else otherwise()

    return open_reads


@contextmanager
def _reading(path: Path, reads: Callable[[sqlite3.Connection], T]) -> Iterator[T]:
    try:
        conn = sqlite3.connect(f"file:{quote(str(path.absolute()))}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StoreUnavailableError(str(exc)) from exc
    try:
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("BEGIN")  # one snapshot for every query, as a unit's transaction is
        yield reads(conn)
    except sqlite3.DatabaseError as exc:  # locked, no such table, not a database: as the store
        raise StoreUnavailableError(str(exc)) from exc
    finally:
        conn.close()


def select_sql(record: type[Any], table: str, leave_out: tuple[str, ...] = ()) -> str:
    columns = ", ".join(f'"{f.name}"' for f in fields(record) if f.name not in leave_out)
    return f"SELECT {columns} FROM {table}"


def as_records(record: type[R], rows: sqlite3.Cursor, **given: Any) -> list[R]:
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
