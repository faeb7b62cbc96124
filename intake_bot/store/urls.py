"""Database URLs checked without connecting: the kind is known, its driver is installed, and a
SQLite file's folder exists or can be made."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, event
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from intake_bot.ports import StoreUnavailableError

EXAMPLES = "e.g. sqlite:///var/intake-bot.db or postgresql+psycopg://intake@db.example/intake_bot"


def check_database_url(url: str) -> str | None:
    """What is wrong with `url` and how to fix it, or None when it looks usable."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return f"not a database URL: {_shown(url)}; {EXAMPLES}"
    try:
        parsed.get_dialect().import_dbapi()
    except NoSuchModuleError:
        return f"unknown kind of database {parsed.drivername!r}; {EXAMPLES}"
    except ImportError as exc:
        fix = (
            "pip install 'intake-bot[postgres]'"
            if parsed.get_backend_name() == "postgresql"
            else f"install the Python package that provides {exc.name}"
        )
        return f"the driver for {parsed.drivername} is not installed ({exc.name}): {fix}"
    folder = sqlite_folder(parsed)
    if folder is not None and not _can_make(folder):
        return f"cannot create the SQLite file's folder {folder}: choose a folder you can write"
    return None


def sqlite_folder(url: URL) -> Path | None:
    """The folder of a SQLite file (None for other databases and in-memory ones)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(str(url.database)).parent


def prepare_database(url: str) -> str | None:
    """Check `url` and make the SQLite file's folder; the problem, or None when ready."""
    problem = check_database_url(url)
    if problem is not None:
        return problem
    folder = sqlite_folder(make_url(url))
    if folder is not None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return f"cannot create the SQLite file's folder {folder}: {exc.strerror}"
    return None


def fail_fast_on_connect(engine: Engine) -> Engine:
    """A failed connect raises StoreUnavailableError naming `database.url`, wherever it happens
    (a unit of work, a migration), so that callers see one kind of error for it."""
    event.listen(engine, "handle_error", _connect_failed)
    return engine


def _connect_failed(ctx: ExceptionContext) -> None:
    # No connection yet: the host, port, login or file is wrong. A failed pre-ping is left to
    # the pool, which reconnects (and comes back here if that fails too).
    if ctx.connection is None and not ctx.is_pre_ping:
        why = " ".join(str(ctx.original_exception).split())
        raise StoreUnavailableError(
            f"database.url: cannot connect ({why}); check the URL and that the server is running"
        ) from ctx.original_exception


def _can_make(folder: Path) -> bool:
    """Whether `folder` exists or its nearest existing ancestor is a folder we may write."""
    for candidate in (folder, *folder.absolute().parents):
        if candidate.exists():
            if candidate == folder:
                return candidate.is_dir()
            return candidate.is_dir() and os.access(candidate, os.W_OK | os.X_OK)
    return False


def _shown(url: str) -> str:
    # The URL may carry a password: show only its start.
    return url.split("://", 1)[0] + "://…" if "://" in url else repr(url)
