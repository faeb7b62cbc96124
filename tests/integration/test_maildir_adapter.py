"""MaildirMailbox on a real Maildir on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake_bot.mail.maildir import MaildirMailbox, deliver
from intake_bot.ports import MessageRef

pytestmark = pytest.mark.integration

EN_DASH_SUBJECT = "Data Services for Commissioners – Legitimate Relationships"


def message(subject: bytes, body: bytes = b"Hello.\r\n") -> bytes:
    return b"From: a@nhs.example\r\nSubject: " + subject + b"\r\n\r\n" + body


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "mail"


def test_scan_finds_only_messages_in_new_with_decoded_subjects(root: Path) -> None:
    mailbox = MaildirMailbox(root)
    plain = message(b"plain")
    dash = message(b"=?utf-8?q?Data_Services_for_Commissioners_=E2=80=93_Legitimate?=\r\n"
                   b" =?utf-8?q?_Relationships?=")  # fmt: skip
    first, second = deliver(root, plain), deliver(root, dash)
    (root / "cur" / "1.seen.host:2,S").write_bytes(message(b"already read"))

    scan = mailbox.scan(uidvalidity=None, after_uid=0)

    by_key = {c.ref.uid: c for c in scan.candidates}
    assert set(by_key) == {first, second}
    assert by_key[first].subject == "plain"
    assert by_key[second].subject == EN_DASH_SUBJECT
    assert by_key[second].size == len(dash)
    assert (scan.uidvalidity, scan.high_uid) == (0, 0)
    assert all(c.ref.mailbox == mailbox.name == f"maildir:{root}" for c in scan.candidates)


def test_fetch_returns_exact_bytes_and_skips_vanished(root: Path) -> None:
    mailbox = MaildirMailbox(root)
    raw = message(b"x", body=b"line one\nline two\r\n\x00binary\xff")
    kept, gone = deliver(root, raw), deliver(root, message(b"gone"))
    (root / "new" / gone).unlink()
    refs = [MessageRef(mailbox.name, 0, kept), MessageRef(mailbox.name, 0, gone)]

    assert list(mailbox.fetch(refs)) == [(refs[0], raw)]


def test_leave_moves_to_cur_without_flags_and_is_not_scanned_again(root: Path) -> None:
    mailbox = MaildirMailbox(root)
    key = deliver(root, message(b"not ours"))
    ref = MessageRef(mailbox.name, 0, key)

    mailbox.leave(ref)
    mailbox.leave(ref)

    assert files_in(root / "new") == []
    assert files_in(root / "cur") == [f"{key}:2,"]  # no S: still unread for people
    assert mailbox.scan(uidvalidity=0, after_uid=0).candidates == []
    assert [r for r, _ in mailbox.fetch([ref])] == [ref]


def test_mark_processed_moves_to_the_processed_folder_keeping_flags(root: Path) -> None:
    mailbox = MaildirMailbox(root, processed_folder="Processed")
    key = deliver(root, message(b"ours"))
    flagged = root / "cur" / f"{key}:2,F"
    (root / "new" / key).rename(flagged)  # someone flagged it in their mail client
    ref = MessageRef(mailbox.name, 0, key)

    mailbox.mark_processed([ref])
    mailbox.mark_processed([ref])

    assert files_in(root / ".Processed" / "cur") == [flagged.name]
    assert (root / ".Processed" / "maildirfolder").exists()
    assert files_in(root / "cur") == [] and files_in(root / "new") == []
    assert list(mailbox.fetch([ref])) == []


def test_mark_processed_from_new_stays_in_new_of_the_folder(root: Path) -> None:
    mailbox = MaildirMailbox(root)
    key = deliver(root, message(b"ours"))

    mailbox.mark_processed([MessageRef(mailbox.name, 0, key)])

    assert files_in(root / ".Processed" / "new") == [key]
    assert mailbox.scan(uidvalidity=0, after_uid=0).candidates == []


def test_mark_processed_without_a_folder_moves_out_of_new(root: Path) -> None:
    mailbox = MaildirMailbox(root, processed_folder=None)
    key = deliver(root, message(b"ours"))

    mailbox.mark_processed([MessageRef(mailbox.name, 0, key)])

    assert files_in(root / "cur") == [f"{key}:2,"]


def test_quarantine_moves_to_the_quarantine_folder(root: Path) -> None:
    mailbox = MaildirMailbox(root, quarantine_folder="Quarantine")
    key = deliver(root, message(b"broken"))
    ref = MessageRef(mailbox.name, 0, key)

    mailbox.quarantine(ref)
    mailbox.quarantine(ref)

    assert files_in(root / ".Quarantine" / "new") == [key]
    assert files_in(root / "new") == []


def test_scan_reads_a_header_without_an_end(root: Path) -> None:
    mailbox = MaildirMailbox(root)
    deliver(root, b"Subject: endless\r\n" + b"X-Filler: " + b"a" * 1_000_000)

    [candidate] = mailbox.scan(uidvalidity=0, after_uid=0).candidates

    assert candidate.subject == "endless"


def test_an_existing_empty_folder_becomes_a_maildir(tmp_path: Path) -> None:
    key = deliver(tmp_path, message(b"first"))  # tmp_path exists and is empty

    scan = MaildirMailbox(tmp_path).scan(uidvalidity=0, after_uid=0)

    assert [c.ref.uid for c in scan.candidates] == [key]


@pytest.mark.parametrize("key", ["../escape", ".hidden", "a/b", "", "key:2,S"])
def test_keys_that_are_not_maildir_names_are_refused(root: Path, key: str) -> None:
    mailbox = MaildirMailbox(root)
    with pytest.raises(ValueError):
        mailbox.mark_processed([MessageRef(mailbox.name, 0, key)])


def test_refs_of_another_mailbox_are_refused(root: Path, tmp_path: Path) -> None:
    mailbox = MaildirMailbox(root)
    key = deliver(tmp_path / "elsewhere", message(b"x"))
    with pytest.raises(ValueError):
        mailbox.leave(MessageRef(f"maildir:{tmp_path / 'elsewhere'}", 0, key))
