"""`run --once` with several mailboxes: each is polled once (its own cursor, its own status),
then the outbox is sent; a mailbox that fails leaves the others to be filed (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from intake_bot.bootstrap import App, build, load_reference_data
from intake_bot.config import ConfigError, load_settings
from intake_bot.mail.maildir import deliver
from intake_bot.samples import DOCX, docx_form, email, new_request
from intake_bot.store import migrate
from intake_bot.store.store import Store
from intake_bot.worker import Worker
from tests.conftest import REPO, FrozenClock, sql_store
from tests.servers import free_port

pytestmark = pytest.mark.integration


def _form(i: int) -> bytes:
    sender = f"requester{i}@nhs.net"
    return email(sender=sender, attachments=[("f.docx", DOCX, docx_form(new_request(i)))])


def _app(tmp_path: Path, database_url: str, *boxes: str) -> App:
    cfg = tmp_path / "once.toml"
    cfg.write_text(
        "".join(boxes)
        + f"""
[database]
url = "{database_url}"
[outgoing]
url = "file:{tmp_path / "outbox"}"
[paths]
s251 = "{REPO / "config/s251.toml"}"
organisations = "{REPO / "config/organisations.toml"}"
"""
    )
    settings = load_settings(cfg, env={})
    app = build(settings, clock=FrozenClock(), store=Store.from_url(database_url))
    migrate.upgrade(sql_store(app))
    load_reference_data(app)
    return app


def _maildir_box(name: str, path: Path) -> str:
    return f'[[mailbox]]\nname = "{name}"\nurl = "maildir:{path}"\n'


@pytest.fixture
def two_maildirs(tmp_path: Path, database_url: str) -> Iterator[App]:
    app = _app(
        tmp_path,
        database_url,
        _maildir_box("north", tmp_path / "north"),
        _maildir_box("south", tmp_path / "south"),
    )
    yield app
    sql_store(app).dispose()


def test_run_once_polls_every_mailbox_then_sends(two_maildirs: App, tmp_path: Path) -> None:
    deliver(tmp_path / "north", _form(1))
    deliver(tmp_path / "south", _form(2))
    deliver(tmp_path / "south", _form(3))

    poll, send = Worker(two_maildirs).run_once()

    assert poll is not None and poll.examined == 3 and poll.filed == 3
    assert send is not None and send.sent == 3
    with two_maildirs.store.unit() as unit:
        requests = unit.requests.matching()
        filed_from = sorted(
            m.mailbox for m in (unit.messages.get(r.inbound_id) for r in requests) if m is not None
        )
    assert filed_from == ["north", "south", "south"]
    status = {s.name: s for s in two_maildirs.mailboxes.status()}
    assert [s.last is not None and s.last.ok for s in status.values()] == [True, True]
    assert status["south"].last is not None and status["south"].last.detail.startswith("2 new")

    again, _ = Worker(two_maildirs).run_once()
    assert again is not None and again.examined == 0


def test_run_once_files_the_good_mailbox_when_another_fails(
    tmp_path: Path, database_url: str
) -> None:
    (tmp_path / "pw").write_text("secret\n")
    closed = free_port()  # nobody listens: the connection is refused
    app = _app(
        tmp_path,
        database_url,
        f'[[mailbox]]\nname = "gone"\nurl = "imap://intake@127.0.0.1:{closed}/INBOX?tls=none"\n'
        f'password_file = "{tmp_path / "pw"}"\n',
        _maildir_box("good", tmp_path / "good"),
    )
    try:
        deliver(tmp_path / "good", _form(1))

        poll, send = Worker(app).run_once()

        assert poll is not None and poll.filed == 1
        assert send is not None and send.sent == 1
        status = {s.name: s for s in app.mailboxes.status()}
        gone = status["gone"].last
        assert gone is not None and not gone.ok and "Connection refused" in gone.detail
        assert status["good"].last is not None and status["good"].last.ok
    finally:
        sql_store(app).dispose()


def test_a_mailbox_that_cannot_be_built_stops_run_once_before_anything_is_polled(
    tmp_path: Path, database_url: str
) -> None:
    app = _app(
        tmp_path,
        database_url,
        _maildir_box("good", tmp_path / "good"),
        '[[mailbox]]\nname = "old"\nurl = "pop3://intake@mail.example/INBOX"\n',
    )
    try:
        deliver(tmp_path / "good", _form(1))
        with pytest.raises(ConfigError, match=r"mailbox\[1\]\.url: unknown scheme 'pop3'"):
            Worker(app).run_once()
        assert app.mailboxes.status()[0].last is None  # nothing was polled
    finally:
        sql_store(app).dispose()
