"""A message the server leaves out of a FETCH answer is passed over only when it is really gone
(issue 9: nothing lost). A fake IMAP client, since no real server can be made to leave one out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from intake_bot.mail.imap import ImapMailbox
from intake_bot.ports import MailboxError, MessageRef

UIDVALIDITY = 7


@dataclass
class LeavingOut:
    """Holds UIDs 1-5; leaves `skip` out of the next `times` FETCH answers; `gone` were expunged."""

    skip: set[int] = field(default_factory=set)
    times: int = 1
    gone: set[int] = field(default_factory=set)
    fetches: int = 0

    def shutdown(self) -> None:  # the adapter drops a connection that misbehaved
        return None

    def select_folder(self, folder: str) -> dict[bytes, Any]:
        return {b"UIDVALIDITY": UIDVALIDITY, b"UIDNEXT": 6, b"PERMANENTFLAGS": [b"\\*"]}

    def search(self, criteria: Sequence[str]) -> list[int]:
        held = {1, 2, 3, 4, 5} - self.gone
        spec = criteria[1]
        if spec.endswith(":*"):
            return sorted(held)
        return sorted(held & {int(u) for u in spec.split(",")})

    def fetch(self, uids: Sequence[int], items: Sequence[bytes]) -> dict[int, dict[bytes, Any]]:
        self.fetches += 1
        leave_out = self.skip | self.gone if self.times > 0 else self.gone
        self.times -= 1
        return {
            uid: {b"BODY[HEADER.FIELDS (SUBJECT)]": b"Subject: x\r\n\r\n", b"RFC822.SIZE": 10}
            | {b"BODY[]": f"message {uid}".encode()}
            for uid in uids
            if uid not in leave_out
        }


def _mailbox(client: LeavingOut) -> ImapMailbox:
    box = ImapMailbox(host="127.0.0.1", username="u", password="p", tls="none")
    box._client = client
    return box


def _refs(box: ImapMailbox, uids: Sequence[int]) -> list[MessageRef]:
    return [MessageRef(box.name, f"{UIDVALIDITY}:{uid}") for uid in uids]


def test_a_message_left_out_once_is_fetched_again_when_scanning() -> None:
    box = _mailbox(LeavingOut(skip={3}))
    changes = box.changes(None)
    assert [c.ref.key for c in changes.candidates] == [f"{UIDVALIDITY}:{u}" for u in range(1, 6)]


def test_a_message_left_out_once_is_fetched_again_when_reading() -> None:
    client = LeavingOut(skip={3})
    box = _mailbox(client)
    box.changes(None)
    client.times = 1
    got = [ref.key for ref, _ in box.fetch(_refs(box, [1, 2, 3, 4, 5]))]
    assert got == [f"{UIDVALIDITY}:{u}" for u in range(1, 6)]


def test_a_message_the_server_keeps_leaving_out_stops_the_poll_instead_of_passing_it() -> None:
    client = LeavingOut(skip={3}, times=99)
    box = _mailbox(client)
    with pytest.raises(MailboxError, match="left out 1 message"):
        box.changes(None)
    client = LeavingOut(skip={3}, times=0)
    box = _mailbox(client)
    box.changes(None)
    client.times = 99
    with pytest.raises(MailboxError, match="left out 1 message"):
        list(box.fetch(_refs(box, [1, 2, 3, 4, 5])))


def test_a_message_expunged_meanwhile_is_passed_over() -> None:
    client = LeavingOut(gone={3})
    box = _mailbox(client)
    changes = box.changes(None)
    assert [c.ref.key for c in changes.candidates] == [f"{UIDVALIDITY}:{u}" for u in (1, 2, 4, 5)]
    assert changes.cursor == f"{UIDVALIDITY}:5"
    got = [ref.key for ref, _ in box.fetch(_refs(box, [1, 2, 3, 4, 5]))]
    assert got == [f"{UIDVALIDITY}:{u}" for u in (1, 2, 4, 5)]
