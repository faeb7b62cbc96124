"""The log set-up: JSON lines off a terminal, and no library left to log message contents."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from intake_bot.cli.logs import QUIET, configure


def _bare_root() -> None:
    """The root logger as in the worker's process (pytest adds its handlers around a test)."""
    logging.getLogger().handlers[:] = []


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in QUIET}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


def test_json_lines_when_the_stream_is_not_a_terminal() -> None:
    _bare_root()
    stream = io.StringIO()  # isatty() is False, as in a container
    configure("INFO", stream=stream)

    logging.getLogger("intake_bot.worker").info("mailbox %s: %d new", "enquiries", 3)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("intake_bot.worker").exception("failed")

    first, second = (json.loads(line) for line in stream.getvalue().splitlines() if line[:1] == "{")
    assert first["message"] == "mailbox enquiries: 3 new" and first["level"] == "INFO"
    assert first["logger"] == "intake_bot.worker" and first["time"].endswith("+00:00")
    assert second["level"] == "ERROR" and "ValueError" in second["exception"]


def test_a_host_that_set_up_logging_keeps_its_handlers() -> None:
    _bare_root()
    host = logging.StreamHandler(io.StringIO())
    logging.getLogger().addHandler(host)

    configure("DEBUG", stream=io.StringIO())

    assert logging.getLogger().handlers == [host]
    assert not logging.getLogger("imapclient").isEnabledFor(logging.INFO)


def test_plain_lines_on_a_terminal_and_one_handler_however_often_configured() -> None:
    _bare_root()
    stream = io.StringIO()
    configure("INFO", stream=stream, as_json=False)
    configure("INFO", stream=stream, as_json=False)

    logging.getLogger("intake_bot").warning("hello")

    assert stream.getvalue().count("WARNING intake_bot: hello") == 1


@pytest.mark.parametrize(
    "name", ["imapclient.imaplib", "imapclient.imapclient", "sqlalchemy.engine.Engine"]
)
def test_libraries_that_log_contents_stay_at_warning_even_at_debug(name: str) -> None:
    configure("DEBUG", stream=io.StringIO())

    assert logging.getLogger("intake_bot.services.polling").isEnabledFor(logging.DEBUG)
    assert not logging.getLogger(name).isEnabledFor(logging.INFO)


@pytest.mark.parametrize("as_json", [True, False])
def test_an_exception_is_logged_by_type_and_place_never_by_its_text(as_json: bool) -> None:
    _bare_root()
    stream = io.StringIO()
    configure("DEBUG", stream=stream, as_json=as_json)
    quoted = "cell B7 holds 'Patient 943 476 5919, Leeds'"  # what a reader's error may say
    try:
        raise ValueError(quoted)
    except ValueError:
        logging.getLogger("intake_bot.test").exception("could not read an attachment")
    text = stream.getvalue()
    if as_json:
        (line,) = text.splitlines()
        text = json.loads(line)["exception"]
    assert "ValueError" in text and "test_logging.py" in text
    assert "943 476 5919" not in text and "Leeds" not in text
