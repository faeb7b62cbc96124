"""IMAP IDLE (RFC 2177) for `ImapMailbox.wait`: news of the watched folder as it comes.

It keeps a connection of its own (the polls use others), opened lazily through the mailbox's
`connect` so that the socket is still made in one place, and stays in IDLE between calls, so a
caller may wait in short slices (to look at a stop flag) at no cost to the server.
"""

from __future__ import annotations

import imaplib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

log = logging.getLogger(__name__)

# RFC 2177: a server may end an IDLE after 30 minutes, so each is renewed before that.
RENEW_SECONDS = 29 * 60


class IdleConnection(Protocol):
    """The part of a logged-in `imapclient.IMAPClient` that IDLE uses."""

    def has_capability(self, capability: str) -> bool: ...
    def select_folder(self, folder: str, readonly: bool = False) -> dict[bytes, Any]: ...
    def idle(self) -> None: ...
    def idle_check(self, timeout: float | None = None) -> list[tuple[Any, ...]]: ...
    def idle_done(self) -> tuple[bytes, list[tuple[Any, ...]]]: ...
    def logout(self) -> Any: ...
    def shutdown(self) -> None: ...


class Idle:
    """Waits in IDLE on the folder, read-only (EXAMINE: no flag, not even `\\Recent`, changes).

    `wait` is True on news (the folder holds more messages than it did), and also right after
    a new connection: mail may have come while none was open. `offered` turns False once a
    server shows it has no IDLE; `wait` is then False at once. Protocol and socket errors drop
    the connection and propagate (the mailbox turns them into MailboxError); the next `wait`
    reconnects.
    """

    def __init__(
        self,
        connect: Callable[[], IdleConnection],
        folder: str,
        *,
        name: str = "",
        renew_after: float = RENEW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.offered = True  # until a server says otherwise
        self._connect = connect
        self._folder = folder
        self._name = name or folder
        self._renew_after = renew_after
        self._clock = clock
        self._client: IdleConnection | None = None
        self._since: float | None = None  # when the IDLE in progress began; None: not idling
        self._exists = 0  # messages in the folder, as the server last told
        self._recent = 0

    def wait(self, timeout: float) -> bool:
        """Up to `timeout` seconds for news; True as soon as some comes."""
        if not self.offered:
            return False
        try:
            if self._client is None:
                return self._start()
            return self._watch(self._client, timeout)
        except BaseException:
            self._drop()
            raise

    def close(self) -> None:
        """End the IDLE and log out; a connection that is already dead is simply dropped."""
        client = self._client
        if client is None:
            return
        try:
            if self._since is not None:
                self._since = None
                client.idle_done()
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            self._drop()
            return
        self._client = None

    def _start(self) -> bool:
        client = self._client = self._connect()
        if not client.has_capability("IDLE"):
            self.offered = False
            log.info("%s: the server offers no IDLE; polled on its interval only", self._name)
            self.close()
            return False
        info = client.select_folder(self._folder, readonly=True)
        self._exists = int(info.get(b"EXISTS", 0))
        self._recent = int(info.get(b"RECENT", 0))
        log.debug("%s: watching for news (IDLE)", self._name)
        return True

    def _watch(self, client: IdleConnection, timeout: float) -> bool:
        deadline = self._clock() + max(timeout, 0.0)
        while True:
            if self._since is None:
                client.idle()
                self._since = self._clock()
            now = self._clock()
            renew_at = self._since + self._renew_after
            if now >= renew_at:
                if self._end(client):
                    return True
                continue
            if now >= deadline:
                return False
            step = min(deadline, renew_at) - now
            responses = client.idle_check(timeout=step)
            if self._news(responses):
                return True
            # Readable yet nothing read: most likely the server closed the connection. Ending
            # the IDLE tells for sure (it raises on a dead connection; otherwise IDLE again).
            if not responses and self._clock() - now < step / 2 and self._end(client):
                return True

    def _end(self, client: IdleConnection) -> bool:
        """DONE; True if news came in meanwhile."""
        self._since = None
        _text, responses = client.idle_done()
        return self._news(responses)

    def _news(self, responses: Sequence[tuple[Any, ...]]) -> bool:
        """True when the folder grew; keeps the count so that our own moves are not news."""
        news = False
        for response in responses:
            if len(response) < 2:
                continue
            number, kind = response[0], response[1]
            if number == b"BYE":
                raise ConnectionAbortedError("the server ended the connection (BYE)")
            if not isinstance(number, int):
                continue
            if kind == b"EXISTS":
                news = news or number > self._exists
                self._exists = number
            elif kind == b"RECENT":
                news = news or number > self._recent
                self._recent = number
            elif kind == b"EXPUNGE":
                self._exists = max(self._exists - 1, 0)
        return news

    def _drop(self) -> None:
        client, self._client = self._client, None
        self._since = None
        if client is None:
            return
        try:
            client.shutdown()
        except (imaplib.IMAP4.error, OSError) as exc:
            log.debug("closing the IDLE socket: %s", type(exc).__name__)
