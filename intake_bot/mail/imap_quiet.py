"""Whether an IMAP folder has anything new, at a cost that does not grow with the folder."""

from __future__ import annotations

from typing import Any, Protocol


class QuietClient(Protocol):
    """The two commands used here; imap.py stays the one module that imports imapclient."""

    def folder_status(self, folder: str, what: list[bytes]) -> dict[bytes, Any]: ...

    def noop(self) -> tuple[bytes, list[Any]]: ...


# Untagged updates that cannot mean a new message: flag changes, expunges, the \Recent count.
# New mail shows as EXISTS, a rebuilt folder as UIDVALIDITY (or a BYE, which raises).
_NOT_NEW = frozenset({b"FETCH", b"EXPUNGE", b"RECENT"})


def status_says_nothing_new(
    client: QuietClient, folder: str, uidvalidity: int, after_uid: int
) -> bool:
    """One STATUS; for a folder that is not selected (on the selected one it may be stale)."""
    status = client.folder_status(folder, [b"UIDVALIDITY", b"UIDNEXT"])
    current, uidnext = status.get(b"UIDVALIDITY"), status.get(b"UIDNEXT")
    if current is None or uidnext is None:
        return False
    return int(current) == uidvalidity and int(uidnext) <= after_uid + 1


def noop_says_nothing_new(client: QuietClient) -> bool:
    """One NOOP on the selected folder, whose view is then known to be quiet: True if it reports
    nothing that may be a new message. Only sound if no other command ran since that view was
    taken (SELECT or the last NOOP): imaplib keeps the EXISTS of other commands to itself."""
    _text, updates = client.noop()
    return all(
        isinstance(update, tuple) and len(update) > 1 and update[1] in _NOT_NEW
        for update in updates
    )
