"""End to end over real servers: a private Dovecot, a real SMTP server, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient

from intake_bot.bootstrap import App, build, load_reference_data
from intake_bot.store import migrate
from intake_bot.store.store import Store
from intake_bot.worker import Worker
from tests.conftest import FrozenClock, make_settings, sql_store
from tests.integration.imap_mix import morning_mail
from tests.servers import DovecotServer, SmtpServer

pytestmark = pytest.mark.integration


def imap_settings_env(dovecot: DovecotServer, smtp: SmtpServer) -> dict[str, dict[str, object]]:
    return {
        "mailbox": {
            "url": f"imap://{dovecot.user}@{dovecot.host}:{dovecot.port}/INBOX?tls=none",
            "password": dovecot.password,
            "allow_plain_auth": "true",
        },
        "outgoing": {
            "url": f"smtp://{smtp.user}@{smtp.host}:{smtp.port}?tls=none",
            "password": smtp.password,
            "allow_plain_auth": "true",
            "from_address": "dsfc.enquiries@example.nhs.uk",
        },
    }


@pytest.fixture
def imap_app(
    tmp_path: Path, database_url: str, dovecot: DovecotServer, smtp: SmtpServer, clock: FrozenClock
) -> Iterator[App]:
    dovecot.reset()
    settings = make_settings(tmp_path, database_url, **imap_settings_env(dovecot, smtp))
    app = build(settings, clock=clock, store=Store.from_url(database_url))
    migrate.upgrade(sql_store(app))
    load_reference_data(app)
    yield app
    sql_store(app).dispose()


def _append_all(client: IMAPClient, messages: list[bytes]) -> None:
    for raw in messages:
        client.append("INBOX", raw)


def _flags_by_uid(client: IMAPClient, folder: str) -> dict[int, tuple[bytes, ...]]:
    client.select_folder(folder, readonly=True)
    uids = client.search("ALL")
    return (
        {uid: data[b"FLAGS"] for uid, data in client.fetch(uids, ["FLAGS"]).items()} if uids else {}
    )


def test_one_poll_files_every_request_once_answers_every_sender_and_leaves_the_rest(
    imap_app: App, dovecot: DovecotServer, smtp: SmtpServer
) -> None:
    messages, expected = morning_mail()
    with dovecot.client() as client:
        _append_all(client, messages)
        client.select_folder("INBOX")
        # A person has already opened one of the other messages in Outlook.
        client.add_flags(client.search(["SUBJECT", "Team lunch"]), [b"\\Seen"])
        before = _flags_by_uid(client, "INBOX")

    poll, send = Worker(imap_app).run_once()
    assert poll is not None and send is not None
    assert poll.examined == 30
    assert poll.not_ours == expected.other
    assert poll.filed == expected.matching
    assert poll.errors == 0
    assert len(poll.references) == expected.requests
    with imap_app.store.unit() as unit:
        assert len(unit.requests.matching(limit=10_000)) == expected.requests
    received = smtp.messages()
    assert len(received) == expected.replies == send.sent
    ids = [m.message_id for m in received]
    assert len(set(ids)) == len(ids)
    assert all(m.login == smtp.user for m in received)

    with dovecot.client() as client:
        after = _flags_by_uid(client, "INBOX")
        processed = _flags_by_uid(client, "Processed")
    # The other subjects are untouched (no flag added or removed); ours left INBOX for Processed.
    assert len(after) == expected.other
    assert all(after[uid] == before[uid] for uid in after)
    assert len(processed) == expected.matching
    assert all(
        b"$IntakeBotFiled" in flags and b"\\Seen" not in flags for flags in processed.values()
    )

    again, send_again = Worker(imap_app).run_once()
    assert again is not None and again.examined == 0 and again.filed == 0
    assert send_again is not None and send_again.sent == 0
    assert len(smtp.messages()) == expected.replies


def test_flag_only_mode_keeps_messages_in_inbox_and_a_second_poll_costs_nothing(
    tmp_path: Path, dovecot: DovecotServer, smtp: SmtpServer, clock: FrozenClock
) -> None:
    dovecot.reset()
    env = imap_settings_env(dovecot, smtp)
    env["mailbox"]["processed_folder"] = ""
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", **env)
    app = build(settings, clock=clock)
    migrate.upgrade(sql_store(app))
    load_reference_data(app)
    messages, _ = morning_mail()
    with dovecot.client() as client:
        _append_all(client, messages[:5])
    first, _ = Worker(app).run_once()
    assert first is not None and first.filed == 5
    with dovecot.client() as client:
        flags = _flags_by_uid(client, "INBOX")
        _append_all(client, messages[5:7])
    assert len(flags) == 5 and all(b"$IntakeBotFiled" in f for f in flags.values())
    second, _ = Worker(app).run_once()
    assert second is not None and second.examined == 2 and second.filed == 2
    assert len(smtp.messages()) == 7
