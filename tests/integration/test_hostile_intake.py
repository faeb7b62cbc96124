"""Hostile files in a real poll (Maildir, SQLite and PostgreSQL, .eml replies): each is refused
with a reply that names the file and the limit, the good request behind it is filed and
acknowledged in the same `run --once`, and the whole poll stays within 30 seconds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest

from intake_bot.bootstrap import App, build, load_reference_data
from intake_bot.mail.maildir import deliver
from intake_bot.samples import DOCX, XLSX, docx_form, email, new_request, xlsx_bulk
from intake_bot.store import migrate
from intake_bot.store.store import Store
from intake_bot.worker import Worker
from tests.conftest import FrozenClock, make_settings
from tests.unit.test_hostile_files import docx_bomb, xlsx_many_strings, xlsx_rows

OCTET = "application/octet-stream"


def _maildir(app: App) -> Path:
    return Path(app.settings.mailbox.url.split(":", 1)[1])


def _replies(app: App) -> list[EmailMessage]:
    outbox = Path(app.settings.outgoing.url.split(":", 1)[1])
    return [
        message_from_bytes(p.read_bytes(), policy=default) for p in sorted(outbox.glob("*.eml"))
    ]


def _text(reply: EmailMessage) -> str:
    body = reply.get_body(("plain",))
    assert body is not None
    return " ".join(str(body.get_content()).split())


def _reply_naming(app: App, words: str) -> str:
    texts = [_text(r) for r in _replies(app)]
    found = [t for t in texts if words in t]
    assert found, f"no reply says {words!r}"
    return found[0]


@pytest.fixture
def limited_app(tmp_path: Path, database_url: str) -> Iterator[App]:
    """The application with tiny limits, as `[limits]` in the settings set them."""
    limits: dict[str, object] = {
        "attachment_seconds": 0.05,
        "message_seconds": 0.08,
        "rows_per_sheet": 10,
    }
    settings = make_settings(tmp_path, database_url, limits=limits)
    store = Store.from_url(database_url)
    application = build(settings, clock=FrozenClock(), store=store)
    migrate.upgrade(store)
    load_reference_data(application)
    yield application
    store.dispose()


def test_zip_bombs_are_refused_by_name_and_the_request_behind_them_is_filed(app: App) -> None:
    deliver(_maildir(app), email(attachments=[("bomb.docx", DOCX, docx_bomb(4096))]))
    strings = xlsx_many_strings(1_800_000)
    deliver(_maildir(app), email(attachments=[("strings.xlsx", XLSX, strings)]))
    deliver(_maildir(app), email(attachments=[("form.docx", DOCX, docx_form(new_request(1)))]))
    started = time.monotonic()

    poll, send = Worker(app).run_once()

    assert time.monotonic() - started < 30
    assert poll is not None and poll.outcomes == {"unreadable": 2, "filed": 1}
    assert poll.references == ["LR-000001"]
    assert send is not None and send.sent == 3
    assert '"bomb.docx" is damaged' in _reply_naming(app, "bomb.docx")
    assert "more than 100,000 different texts" in _reply_naming(app, "strings.xlsx")


def test_the_time_budgets_from_the_settings_refuse_slow_files_and_move_on(
    limited_app: App,
) -> None:
    app = limited_app
    slow = xlsx_rows(20_000, columns=10)
    attachments = [(f"slow-{n}.xlsx", XLSX, slow) for n in range(1, 4)]
    deliver(_maildir(app), email(attachments=attachments))
    deliver(_maildir(app), email(attachments=[("form.docx", DOCX, docx_form(new_request(2)))]))

    poll, _ = Worker(app).run_once()

    assert poll is not None and poll.outcomes == {"unreadable": 1, "filed": 1}
    text = _reply_naming(app, "slow-1.xlsx")
    assert "0.05 seconds we allow for one file" in text
    assert '"slow-3.xlsx" is not read' in text


def test_the_reply_names_the_rows_a_limit_cut(limited_app: App) -> None:
    app = limited_app
    rows = [new_request(n) for n in range(12)]
    deliver(_maildir(app), email(attachments=[("bulk.xlsx", XLSX, xlsx_bulk(rows))]))

    Worker(app).run_once()

    assert "rows 11 to 13 of the Bulk sheet were not read" in _reply_naming(app, "bulk.xlsx")


def test_nul_and_control_characters_in_headers_and_fields_never_block_filing(app: App) -> None:
    """NUL bytes reach the bot through a Maildir (IMAP servers drop them); PostgreSQL refuses
    them in text. The form behind them is filed and answered, and no control character is
    echoed into the reply."""
    raw = email(
        sender="helen.morris@nhs.net",
        subject="Data Services for Commissioners - Legitimate Relationships \x1b[2J",
        attachments=[("form.docx", DOCX, docx_form(new_request(3)))],
    )
    raw = raw.replace(b"Subject: ", b"Subject: \x00NUL\x00 ", 1).replace(
        b"From: ", b"From: Helen\x00 \x1b]0;x\x07Morris ", 1
    )
    deliver(_maildir(app), raw)

    poll, send = Worker(app).run_once()

    assert poll is not None and poll.outcomes == {"filed": 1} and poll.errors == 0
    assert send is not None and send.sent == 1
    (reply,) = _replies(app)
    for part in (str(reply["Subject"]), _text(reply)):
        assert "\x00" not in part and "\x1b" not in part and "\x07" not in part
