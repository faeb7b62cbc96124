"""MaildirMailbox (a `ports.MailSource`) on a real Maildir on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake_bot.mail.maildir import MaildirMailbox, deliver
from intake_bot.ports import MessageRef, Settlement

pytestmark = pytest.mark.integration

EN_DASH_SUBJECT = "Data Services for Commissioners – Legitimate Relationships"


def message(subject: bytes, body: bytes = b"Hello.\r\n") -> bytes:
    return b"From: a@nhs.example\r\nSubject: " + subject + b"\r\n\r\n" + body


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "mail"


def test_changes_finds_only_messages_in_new_with_decoded_subjects(root: Path) -> None:
    mailbox = MaildirMailbox(root)
    plain = message(b"plain")
    dash = message(b"=?utf-8?q?Data_Services_for_Commissioners_=E2=80=93_Legitimate?=\r\n"
                   b" =?utf-8?q?_Relationships?=")  # fmt: skip
    first, second = deliver(root, plain), deliver(root, dash)
    (root / "cur" / "1.seen.host:2,S").write_bytes(message(b"already read"))

    changes = mailbox.changes(None)

    by_key = {c.ref.key: c for c in changes.candidates}
    assert set(by_key) == {first, second}
    assert by_key[first].subject == "plain"
    assert by_key[second].subject == EN_DASH_SUBJECT
    assert by_key[second].size == len(dash)
    # The folders are the state: no cursor, for the mailbox or for a message.
    assert changes.cursor is None
    assert all(c.cursor_after is None for c in changes.candidates)
    assert all(c.ref.mailbox == mailbox.name == f"maildir:{root}" for c in changes.candidates)


def test_the_name_is_the_mailbox_name_when_given(root: Path) -> None:
    mailbox = MaildirMailbox(root, name="enquiries")
    key = deliver(root, message(b"x"))
    assert [c.ref for c in mailbox.changes(None).candidates] == [MessageRef("enquiries", key)]


def test_fetch_returns_exact_bytes_and_skips_vanished(root: Path) -> None:
    mailbox = MaildirMailbox(root)
    raw = message(b"x", body=b"line one\nline two\r\n\x00binary\xff")
    kept, gone = deliver(root, raw), deliver(root, message(b"gone"))
    (root / "new" / gone).unlink()
    refs = [MessageRef(mailbox.name, kept), MessageRef(mailbox.name, gone)]

    assert list(mailbox.fetch(refs)) == [(refs[0], raw)]


def test_not_ours_moves_to_cur_without_flags_and_is_not_looked_at_again(root: Path) -> None:
    mailbox = MaildirMailbox(root)
    key = deliver(root, message(b"not ours"))
    ref = MessageRef(mailbox.name, key)

    mailbox.settle([ref], Settlement.NOT_OURS)
    mailbox.settle([ref], Settlement.NOT_OURS)

    assert files_in(root / "new") == []
    assert files_in(root / "cur") == [f"{key}:2,"]  # no S: still unread for people
    assert mailbox.changes(None).candidates == []
    assert [r for r, _ in mailbox.fetch([ref])] == [ref]


def test_filed_moves_to_the_processed_folder_keeping_flags(root: Path) -> None:
    mailbox = MaildirMailbox(root, processed_folder="Processed")
    key = deliver(root, message(b"ours"))
    flagged = root / "cur" / f"{key}:2,F"
    (root / "new" / key).rename(flagged)  # someone flagged it in their mail client
    ref = MessageRef(mailbox.name, key)

    mailbox.settle([ref], Settlement.FILED)
    mailbox.settle([ref], Settlement.FILED)

    assert files_in(root / ".Processed" / "cur") == [flagged.name]
    assert (root / ".Processed" / "maildirfolder").exists()
    assert files_in(root / "cur") == [] and files_in(root / "new") == []
    assert list(mailbox.fetch([ref])) == []


def test_a_filed_batch_moves_every_message_of_it(root: Path) -> None:
    mailbox = MaildirMailbox(root)
    keys = [deliver(root, message(f"m{i}".encode())) for i in range(3)]

    mailbox.settle([MessageRef(mailbox.name, k) for k in keys], Settlement.FILED)

    assert files_in(root / ".Processed" / "new") == sorted(keys)
    assert mailbox.changes(None).candidates == []


def test_filed_without_a_folder_moves_out_of_new(root: Path) -> None:
    mailbox = MaildirMailbox(root, processed_folder=None)
    key = deliver(root, message(b"ours"))

    mailbox.settle([MessageRef(mailbox.name, key)], Settlement.FILED)

    assert files_in(root / "cur") == [f"{key}:2,"]


def test_quarantined_moves_to_the_quarantine_folder(root: Path) -> None:
    mailbox = MaildirMailbox(root, quarantine_folder="Quarantine")
    key = deliver(root, message(b"broken"))
    ref = MessageRef(mailbox.name, key)

    mailbox.settle([ref], Settlement.QUARANTINED)
    mailbox.settle([ref], Settlement.QUARANTINED)

    assert files_in(root / ".Quarantine" / "new") == [key]
    assert files_in(root / "new") == []


def test_changes_reads_a_header_without_an_end(root: Path) -> None:
    mailbox = MaildirMailbox(root)
    deliver(root, b"Subject: endless\r\n" + b"X-Filler: " + b"a" * 1_000_000)

    [candidate] = mailbox.changes(None).candidates

    assert candidate.subject == "endless"


def test_an_existing_empty_folder_becomes_a_maildir(tmp_path: Path) -> None:
    key = deliver(tmp_path, message(b"first"))  # tmp_path exists and is empty

    changes = MaildirMailbox(tmp_path).changes(None)

    assert [c.ref.key for c in changes.candidates] == [key]


def test_wait_says_poll_on_the_interval(root: Path) -> None:
    assert MaildirMailbox(root).wait(5.0) is False


@pytest.mark.parametrize("key", ["../escape", ".hidden", "a/b", "", "key:2,S"])
def test_keys_that_are_not_maildir_names_are_refused(root: Path, key: str) -> None:
    mailbox = MaildirMailbox(root)
    with pytest.raises(ValueError):
        mailbox.settle([MessageRef(mailbox.name, key)], Settlement.FILED)


def test_refs_of_another_mailbox_are_refused(root: Path, tmp_path: Path) -> None:
    mailbox = MaildirMailbox(root)
    key = deliver(tmp_path / "elsewhere", message(b"x"))
    with pytest.raises(ValueError):
        mailbox.settle([MessageRef(f"maildir:{tmp_path / 'elsewhere'}", key)], Settlement.NOT_OURS)
