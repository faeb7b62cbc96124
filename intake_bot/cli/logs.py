"""How the bot logs: one JSON object a line when stderr is not a terminal (a container, a
service manager), plain lines on a terminal. Never message contents, at any level."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import TextIO

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]

# Libraries that write what passes through them at DEBUG or INFO: imapclient every IMAP line
# (whole messages), SQLAlchemy every statement with its parameters (raw mail), msal tokens,
# httpx and httpcore every request's URL (Graph's name mailboxes and messages).
# They stay at WARNING whatever the bot's own level.
QUIET = (
    "imapclient",
    "sqlalchemy",
    "alembic",
    "msal",
    "urllib3",
    "apscheduler",
    "httpx",
    "httpcore",
)


def where_not_what(exc_info: ExcInfo) -> str:
    """An exception as its type and the frames it passed through, never its text: a reader's
    or a library's error message may quote the email it choked on."""
    _, exc, tb = exc_info
    frames = "".join(traceback.format_list(traceback.extract_tb(tb)))
    name = type(exc).__qualname__ if exc is not None else "None"
    return f"Traceback (most recent call last):\n{frames}{name} (its text is not logged)"


class PlainFormatter(logging.Formatter):
    """Plain lines for a terminal; exceptions as `where_not_what` shows them."""

    def format(self, record: logging.LogRecord) -> str:
        record.exc_text = None  # never reuse what another handler made of the exception
        return super().format(record)

    def formatException(self, ei: ExcInfo) -> str:  # noqa: N802  # logging's name
        return where_not_what(ei)


class JsonFormatter(PlainFormatter):
    """One JSON object a record: time (UTC, ISO 8601), level, logger, message [, exception]."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(level: str, *, stream: TextIO | None = None, as_json: bool | None = None) -> None:
    """Log at `level` to `stream` (stderr), as JSON unless it is a terminal (or `as_json`).

    Where something else set up logging already (a test runner), only the levels are set.
    """
    stream = stream or sys.stderr
    if as_json is None:
        as_json = not stream.isatty()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        JsonFormatter()
        if as_json
        else PlainFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "_intake_bot", False)]
    if len(ours) == len(root.handlers):  # as logging.basicConfig: leave a host's handlers be
        for old in ours:
            root.removeHandler(old)
        handler._intake_bot = True  # type: ignore[attr-defined]  # ours, replaced on a reload
        root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
