"""ImapMailbox against a real Dovecot on loopback."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator

import pytest
from imapclient import IMAPClient

from intake_bot.mail.imap import ImapMailbox
from intake_bot.ports import MailboxError, MessageRef
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


def test_scan_finds_new_messages_with_decoded_subjects(
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
    scan = make_mailbox().scan(uidvalidity=None, after_uid=0)

    assert [int(c.ref.uid) for c in scan.candidates] == uids
    assert [c.subject for c in scan.candidates] == [
        SUBJECT,
        EN_DASH_SUBJECT,
        EN_DASH_SUBJECT,
        SUBJECT,
        "",
    ]
    assert [c.size for c in scan.candidates] == [len(raw) for raw in raws]
    assert scan.high_uid == max(uids)
    assert all(c.ref.uidvalidity == scan.uidvalidity for c in scan.candidates)


def test_second_scan_finds_nothing_and_sends_no_search(
    imap: DovecotServer, make_mailbox: MakeMailbox, caplog: pytest.LogCaptureFixture
) -> None:
    append(imap, message(SUBJECT.encode()))
    mailbox = make_mailbox()
    first = mailbox.scan(uidvalidity=None, after_uid=0)

    with caplog.at_level(logging.DEBUG, logger="imapclient"):
        again = mailbox.scan(uidvalidity=first.uidvalidity, after_uid=first.high_uid)

    assert again.candidates == []
    assert again.high_uid == first.high_uid
    assert "SEARCH" not in caplog.text.upper()  # the idle poll must not grow with the mailbox


def test_scan_only_returns_messages_newer_than_after_uid(
    imap: DovecotServer, make_mailbox: MakeMailbox
) -> None:
    old = append(imap, message(b"old"))
    mailbox = make_mailbox()
    first = mailbox.scan(uidvalidity=None, after_uid=0)
    new = append(imap, message(b"new"))

    scan = mailbox.scan(uidvalidity=first.uidvalidity, after_uid=old)

    assert [(int(c.ref.uid), c.subject) for c in scan.candidates] == [(new, "new")]
    assert scan.high_uid == new


def test_uid_search_returning_the_newest_old_uid_is_dropped(
    imap: DovecotServer, make_mailbox: MakeMailbox
) -> None:
    append(imap, message(b"one"))
    last = append(imap, message(b"two"))
    mailbox = make_mailbox()
    first = mailbox.scan(uidvalidity=None, after_uid=0)
    # A message that arrives and is deleted before the next poll pushes UIDNEXT up, so the
    # adapter must SEARCH; `UID SEARCH UID n:*` then answers with the old newest UID.
    gone = append(imap, message(b"gone"))
    with imap.client() as client:
        client.select_folder("INBOX")
        client.delete_messages([gone])
        client.expunge()
        assert client.search(["UID", f"{last + 1}:*"]) == [last]

    scan = mailbox.scan(uidvalidity=first.uidvalidity, after_uid=last)

    assert scan.candidates == []
    assert scan.high_uid == gone  # everything below UIDNEXT was looked at


def test_changed_uidvalidity_scans_from_the_start(
    imap: DovecotServer, make_mailbox: MakeMailbox
) -> None:
    with imap.client() as client:
        client.create_folder("Requests")
    append(imap, message(b"first"), folder="Requests")
    append(imap, message(b"second"), folder="Requests")
    mailbox = make_mailbox(folder="Requests")
    before = mailbox.scan(uidvalidity=None, after_uid=0)
    mailbox.close()
    with imap.client() as client:  # the folder is rebuilt: UIDs start again at 1
        client.delete_folder("Requests")
        client.create_folder("Requests")
    uid = append(imap, message(b"after"), folder="Requests")

    scan = mailbox.scan(uidvalidity=before.uidvalidity, after_uid=before.high_uid)

    assert scan.uidvalidity != before.uidvalidity
    assert uid <= before.high_uid
    assert [(int(c.ref.uid), c.subject) for c in scan.candidates] == [(uid, "after")]


def test_fetch_returns_exact_bytes_in_order_without_setting_seen(
    imap: DovecotServer, make_mailbox: MakeMailbox
) -> None:
    raws = [message(f"m{i}".encode(), body=f"Body {i}\r\n".encode() * (i + 1)) for i in range(5)]
    for raw in raws:
        append(imap, raw)
    mailbox = make_mailbox(fetch_batch=2)
    refs = [c.ref for c in mailbox.scan(uidvalidity=None, after_uid=0).candidates]
    wanted = list(reversed(refs))

    fetched = list(mailbox.fetch(wanted))

    assert [ref for ref, _ in fetched] == wanted
    assert [raw for _, raw in fetched] == list(reversed(raws))
    for ref in refs:
        assert b"\\Seen" not in flags_of(imap, int(ref.uid))


def test_fetch_skips_vanished_messages(imap: DovecotServer, make_mailbox: MakeMailbox) -> None:
    keep = append(imap, message(b"keep"))
    gone = append(imap, message(b"gone"))
    mailbox = make_mailbox()
    refs = [c.ref for c in mailbox.scan(uidvalidity=None, after_uid=0).candidates]
    with imap.client() as client:
        client.select_folder("INBOX")
        client.delete_messages([gone])
        client.expunge()

    assert [int(ref.uid) for ref, _ in mailbox.fetch(refs)] == [keep]


def test_fetch_leaves_a_ref_from_another_uidvalidity_alone(
    imap: DovecotServer, make_mailbox: MakeMailbox
) -> None:
    uid = append(imap, message(b"x"))
    mailbox = make_mailbox()
    scan = mailbox.scan(uidvalidity=None, after_uid=0)
    stale = MessageRef(mailbox.name, scan.uidvalidity - 1, str(uid))

    assert list(mailbox.fetch([stale])) == []
    mailbox.mark_processed([stale])
    assert KEYWORD.encode() not in flags_of(imap, uid)


def test_mark_processed_flags_in_place_and_is_idempotent(
    imap: DovecotServer, make_mailbox: MakeMailbox
) -> None:
    uid = append(imap, message(SUBJECT.encode()))
    mailbox = make_mailbox()
    ref = mailbox.scan(uidvalidity=None, after_uid=0).candidates[0].ref

    mailbox.mark_processed([ref])
    mailbox.mark_processed([ref])

    assert flags_of(imap, uid) == {KEYWORD.encode()}  # and not \Seen
    assert uids_in(imap, "INBOX") == [uid]


def test_mark_processed_moves_into_a_new_folder_and_is_idempotent(
    imap: DovecotServer, make_mailbox: MakeMailbox
) -> None:
    uid = append(imap, message(SUBJECT.encode()))
    other = append(imap, message(b"other"))
    mailbox = make_mailbox(processed_folder="Processed")
    ref = next(c.ref for c in mailbox.scan(uidvalidity=None, after_uid=0).candidates)
    assert int(ref.uid) == uid

    mailbox.mark_processed([ref])
    mailbox.mark_processed([ref])  # already gone from INBOX: nothing to do

    assert uids_in(imap, "INBOX") == [other]
    [moved] = uids_in(imap, "Processed")
    assert flags_of(imap, moved, "Processed") == {KEYWORD.encode()}
    with imap.client() as client:
        assert any(name == "Processed" for _, _, name in client.list_sub_folders())


def test_mark_processed_without_move_capability_copies_and_expunges_only_that_uid(
    imap: DovecotServer, make_mailbox: MakeMailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    uid = append(imap, message(SUBJECT.encode()))
    deleted_by_a_person = append(imap, message(b"deleted"))
    with imap.client() as client:
        client.select_folder("INBOX")
        client.add_flags([deleted_by_a_person], [b"\\Deleted"])
    real = IMAPClient.has_capability
    monkeypatch.setattr(
        IMAPClient, "has_capability", lambda self, cap: cap.upper() != "MOVE" and real(self, cap)
    )
    mailbox = make_mailbox(processed_folder="Processed")
    ref = next(c.ref for c in mailbox.scan(uidvalidity=None, after_uid=0).candidates)

    mailbox.mark_processed([ref])
    mailbox.mark_processed([ref])

    assert uids_in(imap, "INBOX") == [deleted_by_a_person]  # UID EXPUNGE left it alone
    assert len(uids_in(imap, "Processed")) == 1
    assert uid not in uids_in(imap, "INBOX")


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
    ref = mailbox.scan(uidvalidity=None, after_uid=0).candidates[0].ref

    mailbox.mark_processed([ref])

    [moved] = uids_in(imap, "Processed")
    assert flags_of(imap, moved, "Processed") == set()


def test_quarantine_moves_to_the_quarantine_folder(
    imap: DovecotServer, make_mailbox: MakeMailbox
) -> None:
    append(imap, message(b"broken"))
    mailbox = make_mailbox(quarantine_folder="Quarantine")
    ref = mailbox.scan(uidvalidity=None, after_uid=0).candidates[0].ref

    mailbox.quarantine(ref)
    mailbox.quarantine(ref)

    assert uids_in(imap, "INBOX") == []
    [moved] = uids_in(imap, "Quarantine")
    assert b"\\Seen" not in flags_of(imap, moved, "Quarantine")


def test_leave_changes_nothing(imap: DovecotServer, make_mailbox: MakeMailbox) -> None:
    uid = append(imap, message(b"not ours"))
    mailbox = make_mailbox(processed_folder="Processed")
    ref = mailbox.scan(uidvalidity=None, after_uid=0).candidates[0].ref

    mailbox.leave(ref)

    assert uids_in(imap, "INBOX") == [uid]
    assert flags_of(imap, uid) == set()


def test_dropped_connection_raises_mailbox_error_and_recovers(
    imap: DovecotServer, make_mailbox: MakeMailbox
) -> None:
    append(imap, message(b"one"))
    mailbox = make_mailbox()
    first = mailbox.scan(uidvalidity=None, after_uid=0)
    assert imap.kick()

    with pytest.raises(MailboxError):
        mailbox.scan(uidvalidity=first.uidvalidity, after_uid=0)

    fresh = make_mailbox().scan(uidvalidity=first.uidvalidity, after_uid=0)
    assert [c.ref for c in fresh.candidates] == [c.ref for c in first.candidates]
    again = mailbox.scan(uidvalidity=first.uidvalidity, after_uid=0)  # reconnects by itself
    assert [c.ref for c in again.candidates] == [c.ref for c in first.candidates]


def test_wrong_password_raises_mailbox_error(make_mailbox: MakeMailbox) -> None:
    mailbox = make_mailbox(password="wrong")
    with pytest.raises(MailboxError) as caught:
        mailbox.scan(uidvalidity=None, after_uid=0)
    assert "wrong" not in str(caught.value)


def test_unreachable_server_raises_mailbox_error(make_mailbox: MakeMailbox) -> None:
    mailbox = make_mailbox(port=free_port(), timeout=2.0)
    with pytest.raises(MailboxError):
        mailbox.scan(uidvalidity=None, after_uid=0)


def test_close_tolerates_a_dead_connection(imap: DovecotServer, make_mailbox: MakeMailbox) -> None:
    mailbox = make_mailbox()
    mailbox.scan(uidvalidity=None, after_uid=0)
    imap.kick()
    mailbox.close()
    mailbox.close()


def test_name_identifies_user_host_port_and_folder(imap: DovecotServer) -> None:
    mailbox = ImapMailbox(
        host="mail.example", port=993, username="intake@dsfc.example", password="x", folder="INBOX"
    )
    assert mailbox.name == "imap://intake%40dsfc.example@mail.example:993/INBOX"


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
    assert [c.subject for c in trusted.scan(uidvalidity=None, after_uid=0).candidates] == [
        "over tls"
    ]

    untrusted = make_mailbox(tls=tls, port=port)  # the system's CAs do not know the test one
    with pytest.raises(MailboxError, match="certificate"):
        untrusted.scan(uidvalidity=None, after_uid=0)
