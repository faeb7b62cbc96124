"""ImapMailbox (a `ports.MailSource`) against a real Dovecot on loopback."""

from __future__ import annotations

import logging
import re
import socket
import time
from collections.abc import Callable, Iterator

import pytest
from imapclient import IMAPClient

from intake_bot.mail.imap import ImapMailbox
from intake_bot.ports import Changes, MailboxError, MessageRef, Settlement
from tests.servers import DovecotServer, free_port

pytestmark = pytest.mark.integration

SUBJECT = "Data Services for Commissioners - Legitimate Relationships"
EN_DASH_SUBJECT = "Data Services for Commissioners – Legitimate Relationships"
KEYWORD = "$IntakeBotFiled"

MakeMailbox = Callable[..., ImapMailbox]


def message(subject_header: bytes | None, body: bytes = b"Hello.\r\n") -> bytes:
    header = b"From: someone@nhs.example\r\nTo: intake@dsfc.example\r\n"
    if subject_header is not None:
        header += b"Subject: " + subject_header + b"\r\n"
    return header + b"Message-ID: <" + body[:6].hex().encode() + b"@test>\r\n\r\n" + body


def append(imap: DovecotServer, raw: bytes, folder: str = "INBOX") -> int:
    """Append a message and return the UID the server gave it (UIDPLUS)."""
    with imap.client() as client:
        reply = client.append(folder, raw)
    found = re.search(rb"APPENDUID \d+ (\d+)", reply)
    assert found, reply
    return int(found.group(1))


def flags_of(imap: DovecotServer, uid: int, folder: str = "INBOX") -> set[bytes]:
    with imap.client() as client:
        client.select_folder(folder, readonly=True)
        return set(client.get_flags([uid]).get(uid, ())) - {b"\\Recent"}


def uids_in(imap: DovecotServer, folder: str) -> list[int]:
    with imap.client() as client:
        if not client.folder_exists(folder):
            return []
        client.select_folder(folder, readonly=True)
        return list(client.search("ALL"))


def uid(ref: MessageRef) -> int:
    """The UID inside an IMAP key ("uidvalidity:uid")."""
    return int(ref.key.split(":")[1])


def position(changes: Changes) -> tuple[int, int]:
    """(UIDVALIDITY, last UID looked at) from an IMAP cursor."""
    assert changes.cursor is not None
    validity, last = changes.cursor.split(":")
    return int(validity), int(last)


def commands_sent(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The IMAP commands the client sent, as imapclient logs them at DEBUG ("> b'A1 ...'")."""
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("> ")]


@pytest.fixture
def imap(dovecot: DovecotServer) -> DovecotServer:
    dovecot.reset()
    return dovecot


@pytest.fixture
def make_mailbox(imap: DovecotServer) -> Iterator[MakeMailbox]:
    made: list[ImapMailbox] = []

    def make(**options: object) -> ImapMailbox:
        settings: dict[str, object] = {
            "host": imap.host,
            "port": imap.port,
            "username": imap.user,
            "password": imap.password,
            "tls": "none",
            "timeout": 10.0,
        }
        settings.update(options)
        mailbox = ImapMailbox(**settings)  # type: ignore[arg-type]
        made.append(mailbox)
        return mailbox

    yield make
    for mailbox in made:
        mailbox.close()


def test_changes_finds_new_messages_with_decoded_subjects(
    imap: DovecotServer, make_mailbox: MakeMailbox
) -> None:
    raws = [
        message(SUBJECT.encode()),
        message(EN_DASH_SUBJECT.encode("utf-8")),
        message(
            b"=?utf-8?q?Data_Services_for_Commissioners_=E2=80=93_Legitimate?=\r\n"
            b" =?utf-8?q?_Relationships?="
        ),
        message(b"Data Services for Commissioners -\r\n Legitimate Relationships"),
        message(None),
    ]
    uids = [append(imap, raw) for raw in raws]
    changes = make_mailbox().changes(None)

    assert [uid(c.ref) for c in changes.candidates] == uids
    assert [c.subject for c in changes.candidates] == [
        SUBJECT,
        EN_DASH_SUBJECT,
        EN_DASH_SUBJECT,
        SUBJECT,
        "",
    ]
    assert [c.size for c in changes.candidates] == [len(raw) for raw in raws]
    validity, last = position(changes)
    assert last == max(uids)
    # Each key and each message's cursor carry the UIDVALIDITY the UID belongs to.
    assert [c.ref.key for c in changes.candidates] == [f"{validity}:{u}" for u in uids]
    assert [c.cursor_after for c in changes.candidates] == [c.ref.key for c in changes.candidates]


def test_second_look_finds_nothing_and_sends_no_search(
    imap: DovecotServer, make_mailbox: MakeMailbox, caplog: pytest.LogCaptureFixture
) -> None:
    append(imap, message(SUBJECT.encode()))
    first = make_mailbox().changes(None)
    mailbox = make_mailbox()  # a fresh connection, as each poll opens one

    with caplog.at_level(logging.DEBUG, logger="imapclient"):
        again = mailbox.changes(first.cursor)

    assert again.candidates == []
    assert again.cursor == first.cursor
    sent = " ".join(commands_sent(caplog)).upper()
    assert " STATUS " in sent
    assert " SEARCH " not in sent  # the idle poll must not grow with the mailbox
    assert " SELECT " not in sent


def test_changes_only_returns_messages_after_the_cursor(
    imap: DovecotServer, make_mailbox: MakeMailbox
) -> None:
    old = append(imap, message(b"old"))
    mailbox = make_mailbox()
    validity, _ = position(mailbox.changes(None))
    new = append(imap, message(b"new"))

    changes = mailbox.changes(f"{validity}:{old}")

    assert [(uid(c.ref), c.subject) for c in changes.candidates] == [(new, "new")]
    assert position(changes) == (validity, new)


def test_uid_search_returning_the_newest_old_uid_is_dropped(
    imap: DovecotServer, make_mailbox: MakeMailbox
) -> None:
    append(imap, message(b"one"))
    last = append(imap, message(b"two"))
    mailbox = make_mailbox()
    first = mailbox.changes(None)
    # A message that arrives and is deleted before the next poll pushes UIDNEXT up, so the
    # adapter must SEARCH; `UID SEARCH UID n:*` then answers with the old newest UID.
    gone = append(imap, message(b"gone"))
    with imap.client() as client:
        client.select_folder("INBOX")
        client.delete_messages([gone])
        client.expunge()
        assert client.search(["UID", f"{last + 1}:*"]) == [last]

    changes = mailbox.changes(first.cursor)

    assert changes.candidates == []
    assert position(changes)[1] == gone  # everything below UIDNEXT was looked at


def test_changed_uidvalidity_looks_at_everything_again(
    imap: DovecotServer, make_mailbox: MakeMailbox
) -> None:
    with imap.client() as client:
        client.create_folder("Requests")
    append(imap, message(b"first"), folder="Requests")
    append(imap, message(b"second"), folder="Requests")
    mailbox = make_mailbox(folder="Requests")
    before = mailbox.changes(None)
    mailbox.close()
    with imap.client() as client:  # the folder is rebuilt: UIDs start again at 1
        client.delete_folder("Requests")
        client.create_folder("Requests")
    new = append(imap, message(b"after"), folder="Requests")

    changes = mailbox.changes(before.cursor)

    assert position(changes)[0] != position(before)[0]
    assert new <= position(before)[1]
    assert [(uid(c.ref), c.subject) for c in changes.candidates] == [(new, "after")]


@pytest.mark.parametrize("cursor", ["", "new/1234.host", "delta:https://graph.example/x"])
def test_a_cursor_from_another_kind_of_source_looks_at_everything(
    imap: DovecotServer, make_mailbox: MakeMailbox, cursor: str
) -> None:
    uids = [append(imap, message(b"a")), append(imap, message(b"b"))]
    assert [uid(c.ref) for c in make_mailbox().changes(cursor).candidates] == uids


def test_fetch_returns_exact_bytes_in_order_without_setting_seen(
    imap: DovecotServer, make_mailbox: MakeMailbox
) -> None:
    raws = [message(f"m{i}".encode(), body=f"Body {i}\r\n".encode() * (i + 1)) for i in range(5)]
    for raw in raws:
        append(imap, raw)
    mailbox = make_mailbox(fetch_batch=2)
    refs = [c.ref for c in mailbox.changes(None).candidates]
    wanted = list(reversed(refs))

    fetched = list(mailbox.fetch(wanted))

    assert [ref for ref, _ in fetched] == wanted
    assert [raw for _, raw in fetched] == list(reversed(raws))
    for ref in refs:
        assert b"\\Seen" not in flags_of(imap, uid(ref))


def test_fetch_skips_vanished_messages(imap: DovecotServer, make_mailbox: MakeMailbox) -> None:
    keep = append(imap, message(b"keep"))
    gone = append(imap, message(b"gone"))
    mailbox = make_mailbox()
    refs = [c.ref for c in mailbox.changes(None).candidates]
    with imap.client() as client:
        client.select_folder("INBOX")
        client.delete_messages([gone])
        client.expunge()

    assert [uid(ref) for ref, _ in mailbox.fetch(refs)] == [keep]


def test_a_key_from_another_uidvalidity_is_left_alone(
    imap: DovecotServer, make_mailbox: MakeMailbox
) -> None:
    new = append(imap, message(b"x"))
    mailbox = make_mailbox()
    validity, _ = position(mailbox.changes(None))
    stale = MessageRef(mailbox.name, f"{validity - 1}:{new}")

    assert list(mailbox.fetch([stale])) == []
    mailbox.settle([stale], Settlement.FILED)
    mailbox.settle([stale], Settlement.QUARANTINED)
    assert KEYWORD.encode() not in flags_of(imap, new)
    assert uids_in(imap, "INBOX") == [new]


@pytest.mark.parametrize(
    "ref",
    [
        MessageRef("enquiries", "7"),  # not "uidvalidity:uid"
        MessageRef("enquiries", "x:7"),
        MessageRef("elsewhere", "1:7"),  # another mailbox's
    ],
)
def test_keys_it_did_not_give_are_refused(make_mailbox: MakeMailbox, ref: MessageRef) -> None:
    mailbox = make_mailbox(name="enquiries")
    with pytest.raises(ValueError):
        list(mailbox.fetch([ref]))
    with pytest.raises(ValueError):
        mailbox.settle([ref], Settlement.FILED)


def test_filed_is_flagged_in_place_and_is_idempotent(
    imap: DovecotServer, make_mailbox: MakeMailbox
) -> None:
    new = append(imap, message(SUBJECT.encode()))
    mailbox = make_mailbox()
    ref = mailbox.changes(None).candidates[0].ref

    mailbox.settle([ref], Settlement.FILED)
    mailbox.settle([ref], Settlement.FILED)

    assert flags_of(imap, new) == {KEYWORD.encode()}  # and not \Seen
    assert uids_in(imap, "INBOX") == [new]


def test_filed_moves_into_a_new_folder_and_is_idempotent(
    imap: DovecotServer, make_mailbox: MakeMailbox
) -> None:
    new = append(imap, message(SUBJECT.encode()))
    other = append(imap, message(b"other"))
    mailbox = make_mailbox(processed_folder="Processed")
    ref = next(c.ref for c in mailbox.changes(None).candidates)
    assert uid(ref) == new

    mailbox.settle([ref], Settlement.FILED)
    mailbox.settle([ref], Settlement.FILED)  # already gone from INBOX: nothing to do

    assert uids_in(imap, "INBOX") == [other]
    [moved] = uids_in(imap, "Processed")
    assert flags_of(imap, moved, "Processed") == {KEYWORD.encode()}
    with imap.client() as client:
        assert any(name == "Processed" for _, _, name in client.list_sub_folders())


def test_a_filed_batch_is_one_store_and_one_move(
    imap: DovecotServer, make_mailbox: MakeMailbox, caplog: pytest.LogCaptureFixture
) -> None:
    for i in range(5):
        append(imap, message(f"m{i}".encode()))
    mailbox = make_mailbox(processed_folder="Processed")
    refs = [c.ref for c in mailbox.changes(None).candidates]
    mailbox.settle(refs[:1], Settlement.FILED)  # creates the folder

    with caplog.at_level(logging.DEBUG, logger="imapclient"):
        mailbox.settle(refs[1:], Settlement.FILED)

    sent = commands_sent(caplog)
    assert sum(" UID STORE " in line for line in sent) == 1, sent
    assert sum(" UID MOVE " in line for line in sent) == 1, sent
    assert len(uids_in(imap, "Processed")) == 5


def test_filed_without_move_capability_copies_and_expunges_only_that_uid(
    imap: DovecotServer, make_mailbox: MakeMailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    new = append(imap, message(SUBJECT.encode()))
    deleted_by_a_person = append(imap, message(b"deleted"))
    with imap.client() as client:
        client.select_folder("INBOX")
        client.add_flags([deleted_by_a_person], [b"\\Deleted"])
    real = IMAPClient.has_capability
    monkeypatch.setattr(
        IMAPClient, "has_capability", lambda self, cap: cap.upper() != "MOVE" and real(self, cap)
    )
    mailbox = make_mailbox(processed_folder="Processed")
    ref = next(c.ref for c in mailbox.changes(None).candidates)

    mailbox.settle([ref], Settlement.FILED)
    mailbox.settle([ref], Settlement.FILED)

    assert uids_in(imap, "INBOX") == [deleted_by_a_person]  # UID EXPUNGE left it alone
    assert len(uids_in(imap, "Processed")) == 1
    assert new not in uids_in(imap, "INBOX")


def test_a_server_without_keywords_still_gets_the_move(
    imap: DovecotServer, make_mailbox: MakeMailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    append(imap, message(SUBJECT.encode()))
    real = IMAPClient.select_folder

    def without_keywords(self: IMAPClient, folder: str, readonly: bool = False) -> object:
        info = real(self, folder, readonly)
        system_only = [f for f in info[b"PERMANENTFLAGS"] if f.startswith(b"\\") and f != b"\\*"]
        info[b"PERMANENTFLAGS"] = tuple(system_only)
        return info

    monkeypatch.setattr(IMAPClient, "select_folder", without_keywords)
    mailbox = make_mailbox(processed_folder="Processed")
    ref = mailbox.changes(None).candidates[0].ref

    mailbox.settle([ref], Settlement.FILED)

    [moved] = uids_in(imap, "Processed")
    assert flags_of(imap, moved, "Processed") == set()


def test_quarantined_moves_to_the_quarantine_folder(
    imap: DovecotServer, make_mailbox: MakeMailbox
) -> None:
    append(imap, message(b"broken"))
    mailbox = make_mailbox(quarantine_folder="Quarantine")
    ref = mailbox.changes(None).candidates[0].ref

    mailbox.settle([ref], Settlement.QUARANTINED)
    mailbox.settle([ref], Settlement.QUARANTINED)

    assert uids_in(imap, "INBOX") == []
    [moved] = uids_in(imap, "Quarantine")
    assert b"\\Seen" not in flags_of(imap, moved, "Quarantine")
    assert KEYWORD.encode() not in flags_of(imap, moved, "Quarantine")


def test_not_ours_changes_nothing(imap: DovecotServer, make_mailbox: MakeMailbox) -> None:
    new = append(imap, message(b"not ours"))
    mailbox = make_mailbox(processed_folder="Processed")
    ref = mailbox.changes(None).candidates[0].ref

    mailbox.settle([ref], Settlement.NOT_OURS)

    assert uids_in(imap, "INBOX") == [new]
    assert flags_of(imap, new) == set()


def test_wait_idles_until_new_mail_and_ignores_its_own_moves(
    imap: DovecotServer, make_mailbox: MakeMailbox
) -> None:
    append(imap, message(SUBJECT.encode(), b"first"))
    watcher, poller = make_mailbox(), make_mailbox(processed_folder="Processed")
    try:
        assert watcher.push is True
        assert watcher.wait(5.0) is True  # a new connection: mail may have come meanwhile
        started = time.monotonic()
        assert watcher.wait(0.3) is False  # nothing new
        assert time.monotonic() - started >= 0.3
        ref = poller.changes(None).candidates[0].ref
        poller.settle([ref], Settlement.FILED)  # moved out: the folder shrank, no news
        assert watcher.wait(0.5) is False
        append(imap, message(SUBJECT.encode(), b"second"))
        started = time.monotonic()
        assert watcher.wait(5.0) is True
        assert time.monotonic() - started < 2.0
    finally:
        watcher.close()
        poller.close()


def test_dropped_connection_raises_mailbox_error_and_recovers(
    imap: DovecotServer, make_mailbox: MakeMailbox
) -> None:
    append(imap, message(b"one"))
    mailbox = make_mailbox()
    first = mailbox.changes(None)
    validity, _ = position(first)
    assert imap.kick()

    with pytest.raises(MailboxError):
        mailbox.changes(f"{validity}:0")

    fresh = make_mailbox().changes(f"{validity}:0")
    assert [c.ref for c in fresh.candidates] == [c.ref for c in first.candidates]
    again = mailbox.changes(f"{validity}:0")  # reconnects by itself
    assert [c.ref for c in again.candidates] == [c.ref for c in first.candidates]


def test_wrong_password_raises_mailbox_error(
    imap: DovecotServer, make_mailbox: MakeMailbox
) -> None:
    mailbox = make_mailbox(password="wrong")
    with pytest.raises(MailboxError) as caught:
        mailbox.changes(None)
    assert "wrong" not in str(caught.value)
    assert f"{imap.host}:{imap.port}" in str(caught.value)  # says which server


def test_unreachable_server_raises_mailbox_error(make_mailbox: MakeMailbox) -> None:
    mailbox = make_mailbox(port=free_port(), timeout=2.0)
    with pytest.raises(MailboxError):
        mailbox.changes(None)


def test_a_server_that_never_answers_fails_within_the_timeout(
    make_mailbox: MakeMailbox,
) -> None:
    with socket.socket() as silent:  # accepts connections (the backlog) and never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        mailbox = make_mailbox(port=silent.getsockname()[1], timeout=2.0)
        started = time.monotonic()
        with pytest.raises(MailboxError, match="timed out"):
            mailbox.changes(None)
    assert time.monotonic() - started < 10


def test_close_tolerates_a_dead_connection(imap: DovecotServer, make_mailbox: MakeMailbox) -> None:
    mailbox = make_mailbox()
    mailbox.changes(None)
    imap.kick()
    mailbox.close()
    mailbox.close()


def test_name_is_the_mailbox_name_or_user_host_port_and_folder() -> None:
    mailbox = ImapMailbox(
        host="mail.example", port=993, username="intake@dsfc.example", password="x", folder="INBOX"
    )
    assert mailbox.name == "imap://intake%40dsfc.example@mail.example:993/INBOX"
    named = ImapMailbox(host="mail.example", username="u", password="x", name="enquiries")
    assert named.name == "enquiries"


def test_password_without_tls_is_refused_except_on_loopback() -> None:
    with pytest.raises(ValueError, match="without TLS"):
        ImapMailbox(host="mail.example", username="u", password="p", tls="none")
    ImapMailbox(host="127.0.0.1", username="u", password="p", tls="none")
    ImapMailbox(host="mail.example", username="u", password="p", tls="none", allow_plain_auth=True)


def test_seen_cannot_be_the_flag() -> None:
    with pytest.raises(ValueError, match="keyword"):
        ImapMailbox(host="mail.example", username="u", password="p", flag_keyword="\\Seen")


@pytest.mark.parametrize("tls", ["ssl", "starttls"])
def test_tls_connections_verify_the_certificate(
    imap: DovecotServer, make_mailbox: MakeMailbox, tls: str
) -> None:
    if imap.tls_port is None:
        pytest.skip("the private Dovecot runs without TLS (no openssl)")
    port = imap.tls_port if tls == "ssl" else imap.port
    append(imap, message(b"over tls"))
    trusted = make_mailbox(tls=tls, port=port, ssl_context=imap.client_ssl_context())
    assert [c.subject for c in trusted.changes(None).candidates] == ["over tls"]

    untrusted = make_mailbox(tls=tls, port=port)  # the system's CAs do not know the test one
    with pytest.raises(MailboxError, match="certificate"):
        untrusted.changes(None)
