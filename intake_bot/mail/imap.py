"""The IMAP mailbox, the one module that talks to IMAP (imapclient). It reads without side
effects (`BODY.PEEK`, never `\\Seen`) and changes a message only when told."""

from __future__ import annotations

import imaplib
import logging
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from imapclient import IMAPClient, SocketTimeout

from intake_bot.mail._headers import decode_subject
from intake_bot.mail.imap_idle import Idle
from intake_bot.mail.imap_login import Credential, log_in
from intake_bot.mail.imap_quiet import noop_says_nothing_new, status_says_nothing_new
from intake_bot.mail.imap_settings import check_settings, mailbox_name
from intake_bot.ports import Candidate, Changes, MailboxError, MessageRef, Settlement

log = logging.getLogger(__name__)

_HEADER_ITEMS = [b"BODY.PEEK[HEADER.FIELDS (SUBJECT)]", b"RFC822.SIZE"]
_BODY_ITEMS = [b"BODY.PEEK[]"]
_DELETED = b"\\Deleted"
CONNECT_TIMEOUT = 15.0  # seconds: an unreachable host is reported soon, whatever `timeout` says


class ImapMailbox:
    """One folder of an IMAP mailbox, polled by UID (see `ports.MailSource`).

    A message's key is "uidvalidity:uid" and the cursor "uidvalidity:last_uid": UIDs are only
    meaningful under the UIDVALIDITY they were given with, so both travel together.
    Connects lazily and keeps the connection; any error drops it, so the next call reconnects.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int | None = None,
        username: str,
        password: str | None = None,
        oauth2_token: Credential | None = None,
        folder: str = "INBOX",
        tls: str = "ssl",
        processed_folder: str | None = None,
        quarantine_folder: str = "Quarantine",
        flag_keyword: str = "$IntakeBotFiled",
        timeout: float = 60.0,
        ssl_context: ssl.SSLContext | None = None,
        scan_batch: int = 500,
        fetch_batch: int = 25,
        allow_plain_auth: bool = False,
        name: str | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        """`oauth2_token` (a token, or a TokenProvider: see `imap_login`) wins over `password`.

        `tls="none"` sends the password in clear, so it is refused unless the host is a loopback
        address or `allow_plain_auth` is set. `name` (the mailbox's name in the settings) defaults
        to an imap:// URL of user, host, port and folder.
        """
        check_settings(tls, host, password, oauth2_token, flag_keyword, allow_plain_auth)
        if scan_batch < 1 or fetch_batch < 1:
            raise ValueError("scan_batch and fetch_batch must be at least 1")
        self._host = host
        self._port = port or (993 if tls == "ssl" else 143)
        self._username = username
        self._password = password
        self._oauth2_token = oauth2_token
        self._folder = folder
        self._tls = tls
        self._processed_folder = processed_folder or None
        self._quarantine_folder = quarantine_folder
        self._flag = flag_keyword
        self._timeout = SocketTimeout(connect=min(connect_timeout, timeout), read=timeout)
        self._ssl_context = ssl_context
        self._scan_batch = scan_batch
        self._fetch_batch = fetch_batch
        self._client: IMAPClient | None = None
        self._uidvalidity: int | None = None  # of the folder selected on this connection
        self._keyword_allowed = True  # PERMANENTFLAGS of the selected folder lets us set it
        self._known_folders: set[str] = set()
        # UIDNEXT of the selected folder while no command but SELECT or a quiet NOOP ran since
        self._quiet_uidnext: int | None = None
        self.name = name or mailbox_name(username, host, self._port, folder)
        self._idle = Idle(self._open, folder, name=self.name)  # a connection of its own

    # -- ports.MailSource ---------------------------------------------------------------------

    def changes(self, cursor: str | None) -> Changes:
        """Messages above the cursor's UID; everything if UIDVALIDITY changed or no cursor.

        Cursor "uidvalidity:last_uid". An idle poll is one command of a cost the folder's size
        does not change: STATUS on a new connection, NOOP on the folder an open one keeps selected.
        """
        uidvalidity, after = self._read_cursor(cursor)
        folder, quiet = self._folder, self._quiet_uidnext
        self._quiet_uidnext = None  # any command below may carry an EXISTS the NOOP won't repeat
        with self._guard("scan"):
            new_connection, client = self._client is None, self._connection()
            if uidvalidity is not None and (
                (new_connection and status_says_nothing_new(client, folder, uidvalidity, after))
                or (
                    quiet is not None
                    and uidvalidity == self._uidvalidity
                    and quiet <= after + 1
                    and noop_says_nothing_new(client)
                )
            ):
                self._quiet_uidnext = quiet
                return Changes(candidates=[], cursor=_position(uidvalidity, after))
            current, uidnext = self._select(client)
            floor = after if current == uidvalidity else 0
            # Everything below UIDNEXT existed at SELECT time, so a SEARCH covers it all.
            seen_up_to = max(floor, uidnext - 1 if uidnext else 0)
            if uidnext is not None and uidnext <= floor + 1:
                self._quiet_uidnext = uidnext  # nothing sent since: the next NOOP tells all
                return Changes(candidates=[], cursor=_position(current, floor))
            # `UID SEARCH UID n:*` also returns the newest UID when nothing is newer than n.
            uids = sorted(uid for uid in client.search(["UID", f"{floor + 1}:*"]) if uid > floor)
            candidates = self._candidates(client, current, uids)
        log.debug("%s: %d new message(s)", self.name, len(candidates))
        return Changes(candidates=candidates, cursor=_position(current, max([seen_up_to, *uids])))

    def fetch(self, refs: Sequence[MessageRef]) -> Iterator[tuple[MessageRef, bytes]]:
        """Bytes by `BODY.PEEK[]` in the order asked, a batch per FETCH; vanished ones skipped."""
        located = [(ref, *self._locate(ref)) for ref in refs]
        for start in range(0, len(located), self._fetch_batch):
            batch = located[start : start + self._fetch_batch]
            with self._guard("fetch"):
                client = self._connection()
                current = self._ensure_selected(client)
                wanted = [
                    uid for _, validity, uid in batch if self._addressable(validity, uid, current)
                ]
                response = client.fetch(wanted, _BODY_ITEMS) if wanted else {}
                response = self._complete(client, wanted, response, _BODY_ITEMS, b"BODY[]")
            for ref, validity, uid in batch:
                raw = response.get(uid, {}).get(b"BODY[]")
                if isinstance(raw, bytes) and validity == current:
                    yield ref, raw

    def settle(self, refs: Sequence[MessageRef], outcome: Settlement) -> None:
        """Filed: the keyword flag (never `\\Seen`), then a move to the processed folder if set.
        Quarantined: a move to the quarantine folder. Not ours: nothing (the cursor moves past).

        One STORE and one MOVE for the whole batch.
        """
        located = [self._locate(ref) for ref in refs]
        if not located or outcome is Settlement.NOT_OURS:
            return
        with self._guard(f"settle ({outcome.value})"):
            client = self._connection()
            current = self._ensure_selected(client)
            uids = [uid for validity, uid in located if self._addressable(validity, uid, current)]
            if not uids:
                return
            # STORE and MOVE of UIDs that are already gone succeed with nothing done.
            if outcome is Settlement.QUARANTINED:
                self._move(client, uids, self._quarantine_folder)
                return
            if self._keyword_allowed:
                client.add_flags(uids, [self._flag], silent=True)
            if self._processed_folder:
                self._move(client, uids, self._processed_folder)

    @property
    def push(self) -> bool:
        """IDLE, until the server shows it has none."""
        return self._idle.offered

    def wait(self, timeout: float) -> bool:
        """IDLE where the server offers it (see `imap_idle`); False at once where not."""
        with self._guard("idle"):
            return self._idle.wait(timeout)

    def close(self) -> None:
        """Log out; a connection that is already dead is simply dropped."""
        self._idle.close()
        client, self._client = self._client, None
        self._uidvalidity = None
        self._quiet_uidnext = None
        if client is None:
            return
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            _shut(client)

    # -- connection ---------------------------------------------------------------------------

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Turn socket, TLS and protocol errors into MailboxError and drop the connection."""
        try:
            yield
        except (imaplib.IMAP4.error, OSError) as exc:
            self._drop()
            raise MailboxError(self._fault(action, exc)) from exc

    def _fault(self, action: str, exc: BaseException) -> str:
        where = f"{self._host}:{self._port}"
        if "NONEXISTENT" in str(exc) or "doesn't exist" in str(exc):
            fix = "create it, or name an existing folder in mailbox.url"
            return f"the folder {self._folder!r} does not exist on {where}: {fix}"
        return f"{action} failed on {where}: {_describe(exc)}"

    def _connection(self) -> IMAPClient:
        if self._client is None:
            self._client = self._open()
        return self._client

    def _open(self) -> IMAPClient:
        log.info("connecting to %s", self.name)
        client = IMAPClient(
            self._host,
            port=self._port,
            ssl=self._tls == "ssl",
            ssl_context=self._ssl_context,
            timeout=self._timeout,
        )
        try:
            if self._tls == "starttls":
                client.starttls(self._ssl_context)
            self._login(client)
        except BaseException:
            _shut(client)
            raise
        return client

    def _login(self, client: IMAPClient) -> None:
        log_in(client, self._username, self._password, self._oauth2_token, self.name)

    def _drop(self) -> None:
        client, self._client = self._client, None
        self._uidvalidity = None
        self._quiet_uidnext = None
        self._known_folders.clear()  # a failed MOVE may mean someone deleted the folder
        if client is not None:
            _shut(client)

    # -- folder state -------------------------------------------------------------------------

    def _select(self, client: IMAPClient) -> tuple[int, int | None]:
        """SELECT read-write (flags and moves need it) and return (UIDVALIDITY, UIDNEXT)."""
        info = client.select_folder(self._folder)
        self._uidvalidity = int(info[b"UIDVALIDITY"])
        self._keyword_allowed = self._may_set_keyword(info.get(b"PERMANENTFLAGS"))
        uidnext = info.get(b"UIDNEXT")
        return self._uidvalidity, int(uidnext) if uidnext is not None else None

    def _may_set_keyword(self, permanent: Sequence[bytes] | None) -> bool:
        """Some servers (Exchange) keep no keywords; then the move alone records the filing."""
        if permanent is None or b"\\*" in permanent or self._flag.encode() in permanent:
            return True
        if self._keyword_allowed:  # say it once, not on every poll
            log.warning("%s: the server keeps no keywords; not setting %s", self.name, self._flag)
        return False

    def _ensure_selected(self, client: IMAPClient) -> int:
        self._quiet_uidnext = None  # what follows may carry an EXISTS the next NOOP won't repeat
        if self._uidvalidity is None:
            return self._select(client)[0]
        return self._uidvalidity

    def _addressable(self, uidvalidity: int, uid: int, current: int) -> bool:
        """A UID from another UIDVALIDITY may name a different message now: never touch it."""
        if uidvalidity == current:
            return True
        log.warning(
            "%s: uid %d belongs to UIDVALIDITY %d, the folder now has %d; left alone",
            self.name,
            uid,
            uidvalidity,
            current,
        )
        return False

    def _locate(self, ref: MessageRef) -> tuple[int, int]:
        """(UIDVALIDITY, UID) from a key this mailbox gave; ValueError for anyone else's."""
        parsed = _parse_pair(ref.key) if ref.mailbox == self.name else None
        if parsed is None:
            raise ValueError(f"{ref!r} does not belong to {self.name}")
        return parsed

    def _read_cursor(self, cursor: str | None) -> tuple[int | None, int]:
        if cursor is None:
            return None, 0
        parsed = _parse_pair(cursor)
        if parsed is None:  # not ours (the mailbox's URL changed kind): start from the top
            log.warning(
                "%s: cursor %r is not an IMAP one; looking at everything", self.name, cursor
            )
            return None, 0
        return parsed

    def _candidates(self, client: IMAPClient, uidvalidity: int, uids: list[int]) -> list[Candidate]:
        found: list[Candidate] = []
        for start in range(0, len(uids), self._scan_batch):
            batch = uids[start : start + self._scan_batch]
            response = client.fetch(batch, _HEADER_ITEMS)
            response = self._complete(client, batch, response, _HEADER_ITEMS, b"RFC822.SIZE")
            for uid in batch:
                data = response.get(uid)
                if data is None:
                    continue  # expunged since the SEARCH
                position = _position(uidvalidity, uid)
                found.append(
                    Candidate(
                        ref=MessageRef(self.name, position),
                        subject=decode_subject(header_block(data)),
                        size=int(data.get(b"RFC822.SIZE", 0)),
                        cursor_after=position,
                    )
                )
        return found

    def _complete(
        self,
        client: IMAPClient,
        uids: Sequence[int],
        response: dict[int, dict[bytes, Any]],
        items: list[bytes],
        item: bytes,
    ) -> dict[int, dict[bytes, Any]]:
        """`response` with what it left out fetched again. A UID left out of a FETCH answer is
        passed over (and the cursor moves past it) only when a SEARCH agrees it is gone: one the
        folder still holds is fetched once more, and if the server leaves it out again the poll
        stops here, to try again next time, rather than lose the message."""
        missing = [uid for uid in uids if item not in response.get(uid, {})]
        if not missing:
            return response
        held = sorted(set(client.search(["UID", ",".join(map(str, missing))])) & set(missing))
        again = client.fetch(held, items) if held else {}
        if any(item not in again.get(uid, {}) for uid in held):
            raise imaplib.IMAP4.error(f"the server left out {len(held)} message(s) it still holds")
        log.debug("%s: %d expunged while being read", self.name, len(missing) - len(held))
        return {**response, **again}

    def _move(self, client: IMAPClient, uids: list[int], folder: str) -> None:
        self._ensure_folder(client, folder)
        if client.has_capability("MOVE"):
            client.move(uids, folder)
            return
        client.copy(uids, folder)
        client.add_flags(uids, [_DELETED], silent=True)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge(uids)  # a plain EXPUNGE would also remove what people deleted

    def _ensure_folder(self, client: IMAPClient, folder: str) -> None:
        if folder in self._known_folders:
            return
        if not client.folder_exists(folder):
            try:
                client.create_folder(folder)
            except imaplib.IMAP4.error:
                if not client.folder_exists(folder):  # not a race with another worker
                    raise
            else:
                log.info("%s: created folder %s", self.name, folder)
            try:
                client.subscribe_folder(folder)  # so that mail clients show it
            except imaplib.IMAP4.error:
                log.debug("%s: could not subscribe to %s", self.name, folder)
        self._known_folders.add(folder)


def _position(uidvalidity: int, uid: int) -> str:
    """A message's key, or a cursor: "uidvalidity:uid"."""
    return f"{uidvalidity}:{uid}"


def _parse_pair(text: str) -> tuple[int, int] | None:
    head, sep, tail = text.partition(":")
    if not (sep and head.isdigit() and tail.isdigit()):
        return None
    return int(head), int(tail)


def header_block(data: dict[bytes, Any]) -> bytes:
    """The `BODY[HEADER.FIELDS (SUBJECT)]` item, whatever spelling the server echoes back."""
    for key, value in data.items():
        if key.startswith(b"BODY[HEADER") and isinstance(value, bytes):
            return value
    return b""


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).strip()}".rstrip(": ")


def _shut(client: IMAPClient) -> None:
    try:
        client.shutdown()
    except (imaplib.IMAP4.error, OSError) as exc:
        log.debug("closing the IMAP socket: %s", _describe(exc))
