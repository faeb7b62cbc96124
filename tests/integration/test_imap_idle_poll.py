"""The idle poll of a big IMAP folder does no per-message work, on a new or an open connection:
counted in IMAP commands and response lines, not timed."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from intake_bot.mail.imap import ImapMailbox
from intake_bot.ports import Changes, Settlement
from tests.servers import DovecotServer

pytestmark = pytest.mark.integration

MESSAGES = 3000


def raw(i: int) -> bytes:
    return (
        f"From: p{i}@nhs.example\r\nSubject: filed {i}\r\nMessage-ID: <idle.{i}@test>\r\n"
        f"\r\nHello {i}.\r\n"
    ).encode()


@pytest.fixture
def big(dovecot: DovecotServer) -> Iterator[tuple[DovecotServer, str]]:
    """INBOX of MESSAGES filed messages, and the cursor past them."""
    dovecot.reset()
    with dovecot.client() as client:
        for start in range(0, MESSAGES, 500):
            items = [
                {"msg": raw(i), "flags": ["$IntakeBotFiled"]} for i in range(start, start + 500)
            ]
            client.multiappend("INBOX", items)
        info = client.select_folder("INBOX", readonly=True)
    yield dovecot, f"{info[b'UIDVALIDITY']}:{int(info[b'UIDNEXT']) - 1}"
    dovecot.reset()


def verbs(sent: list[str]) -> list[str]:
    """The command names in imapclient's "> b'TAG VERB ...'" lines."""
    return [line.split()[2].rstrip("'") for line in sent]


def traced(
    caplog: pytest.LogCaptureFixture, mailbox: ImapMailbox, cursor: str
) -> tuple[Changes, list[str], list[str]]:
    """One poll, with the commands sent and the lines received (imapclient's DEBUG log)."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="imapclient"):
        changes = mailbox.changes(cursor)
    lines = [r.getMessage() for r in caplog.records]
    return (
        changes,
        [m for m in lines if m.startswith("> ")],
        [m for m in lines if m.startswith("< ")],
    )


def test_idle_polls_cost_one_command_whatever_the_folder_holds(
    big: tuple[DovecotServer, str], caplog: pytest.LogCaptureFixture
) -> None:
    imap, cursor = big
    mailbox = ImapMailbox(
        host=imap.host, port=imap.port, username=imap.user, password=imap.password, tls="none"
    )
    try:
        # A new connection: one STATUS after the login, no SELECT.
        changes, sent, received = traced(caplog, mailbox, cursor)
        assert changes.candidates == [] and changes.cursor == cursor
        assert verbs(sent[-1:]) == ["STATUS"]
        assert not any(" SELECT " in s or " SEARCH " in s for s in sent)
        mailbox.changes(cursor)  # the open connection selects the folder once
        for _ in range(3):  # then each idle poll is one NOOP with a one-line answer
            changes, sent, received = traced(caplog, mailbox, cursor)
            assert changes.candidates == [] and changes.cursor == cursor
            assert verbs(sent) == ["NOOP"], sent
            assert len(received) <= 2, received

        # Staff delete a message: an EXPUNGE, still nothing new and still one NOOP.
        with imap.client() as client:
            client.select_folder("INBOX")
            client.delete_messages([5])
            client.expunge()
        changes, sent, received = traced(caplog, mailbox, cursor)
        assert changes.candidates == [] and verbs(sent) == ["NOOP"]

        # New mail: the NOOP shows it and the poll finds exactly it, once.
        with imap.client() as client:
            client.append("INBOX", raw(MESSAGES))
        changes, sent, _ = traced(caplog, mailbox, cursor)
        assert [c.subject for c in changes.candidates] == [f"filed {MESSAGES}"]
        mailbox.settle([changes.candidates[0].ref], Settlement.FILED)
        assert changes.cursor is not None
        # After other commands (their answers may have carried news) the poll looks again...
        again, sent, _ = traced(caplog, mailbox, changes.cursor)
        assert again.candidates == [] and any(" SELECT " in s for s in sent)
        # ...and is back to one NOOP after that.
        again, sent, _ = traced(caplog, mailbox, changes.cursor)
        assert again.candidates == [] and verbs(sent) == ["NOOP"]
        # A poll whose cursor is behind what was seen is not answered by the NOOP.
        behind, sent, _ = traced(caplog, mailbox, cursor)
        assert [c.subject for c in behind.candidates] == [f"filed {MESSAGES}"]
    finally:
        mailbox.close()
