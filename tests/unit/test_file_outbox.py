"""FileTransport: one .eml file a Message-ID, written atomically."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake_bot.mail.file_outbox import FileTransport, file_name
from intake_bot.ports import SendError

RAW = (
    b"From: a@x\r\nTo: b@y\r\nSubject: s\r\nMessage-ID: <m1@dsfc.example>\r\n\r\n"
    b"Body \xe2\x80\x93\r\n"
)


def send(transport: FileTransport, message_id: str, raw: bytes = RAW) -> None:
    transport.send(sender="a@x", recipients=["b@y"], raw=raw, message_id=message_id)


def test_writes_the_raw_bytes_named_after_the_message_id(tmp_path: Path) -> None:
    transport = FileTransport(tmp_path / "outbox")

    send(transport, "<m1@dsfc.example>")

    assert [p.name for p in (tmp_path / "outbox").iterdir()] == ["m1@dsfc.example.eml"]
    assert (tmp_path / "outbox" / "m1@dsfc.example.eml").read_bytes() == RAW
    assert transport.path_for("<m1@dsfc.example>").read_bytes() == RAW


def test_sending_again_replaces_rather_than_duplicates(tmp_path: Path) -> None:
    transport = FileTransport(tmp_path)

    send(transport, "<m1@dsfc.example>", b"first")
    send(transport, "<m1@dsfc.example>", b"second")

    assert [p.read_bytes() for p in tmp_path.iterdir()] == [b"second"]


def test_leaves_no_temporary_files(tmp_path: Path) -> None:
    transport = FileTransport(tmp_path)
    for n in range(5):
        send(transport, f"<m{n}@x>")
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"m{n}@x.eml" for n in range(5)]


@pytest.mark.parametrize("message_id", ["<../../etc/passwd>", "<a/b@x>", "<.hidden@x>", "<..>"])
def test_unsafe_message_ids_stay_inside_the_folder(tmp_path: Path, message_id: str) -> None:
    transport = FileTransport(tmp_path / "outbox")

    send(transport, message_id)

    [written] = (tmp_path / "outbox").iterdir()
    assert not written.name.startswith(".")
    assert written.read_bytes() == RAW


def test_distinct_message_ids_never_share_a_file() -> None:
    ids = ["<a/b@x>", "<a_b@x>", "<a:b@x>", "<" + "x" * 300 + "1>", "<" + "x" * 300 + "2>"]
    assert len({file_name(i) for i in ids}) == len(ids)
    assert all(len(file_name(i)) < 200 for i in ids)


def test_without_a_message_id_the_name_is_a_hash_of_the_message() -> None:
    assert file_name("", b"one") == file_name("", b"one") != file_name("", b"two")


def test_an_unwritable_folder_is_a_temporary_send_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    transport = FileTransport(blocker / "outbox")

    with pytest.raises(SendError) as caught:
        send(transport, "<m1@x>")

    assert caught.value.permanent is False
