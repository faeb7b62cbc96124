"""A TCP proxy for fault tests: it sits between a client (the worker) and a server and cuts a
connection at a chosen point of a command, as a network, a firewall or a crashed server would.

A `Cut` watches what the client sends for a trigger (e.g. `b"UID STORE"`). When the trigger
passes, the proxy either lets `client_bytes` more bytes of the client's data through and then
cuts (the server sees a partial command or message, so it never acts on it), or lets the whole
command through and cuts after `server_bytes` bytes of the server's answer (the server did the
work, the client never learns it). Both sockets are then closed. Bytes are never changed.

    with TcpProxy(("127.0.0.1", dovecot.port)) as proxy:
        proxy.arm(Cut(b"UID MOVE", server_bytes=0))
        ... point the client at proxy.port ...
        assert proxy.cuts == 1
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field
from types import TracebackType

from tests.servers import LOOPBACK

CHUNK = 65536


@dataclass
class Cut:
    """Where to cut: after `trigger` in the client's stream, matched without regard to case
    (matches are counted over all connections)."""

    trigger: bytes
    client_bytes: int | None = None  # cut after this many more client bytes (None: see below)
    server_bytes: int = 0  # with client_bytes None: cut after this much of the server's answer
    skip: int = 0  # let the first `skip` matches pass untouched
    times: int = 1  # cut this many times, then pass everything

    def __post_init__(self) -> None:
        if not self.trigger:
            raise ValueError("a Cut needs a trigger")


@dataclass(eq=False)
class _Link:
    """One client connection and its upstream connection."""

    client: socket.socket
    server: socket.socket
    tail: bytes = b""  # the end of the client's last chunk: a trigger may span two chunks
    client_left: int | None = None  # client bytes still let through before the cut
    server_left: int | None = None  # server bytes still let through before the cut
    closed: threading.Event = field(default_factory=threading.Event)
    ended: int = 0  # directions whose sender ended its stream


class TcpProxy:
    """Forwards every connection to `upstream`, cutting where an armed `Cut` says."""

    def __init__(self, upstream: tuple[str, int], host: str = LOOPBACK) -> None:
        self.upstream = upstream
        self._listener = socket.create_server((host, 0))
        self._listener.settimeout(0.2)
        self.host: str = host
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._cut: Cut | None = None
        self._links: set[_Link] = set()
        self._stopping = threading.Event()
        self._accepting = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)
        self.cuts = 0  # how many connections were cut so far
        self.connections = 0  # how many client connections were accepted so far

    def __enter__(self) -> TcpProxy:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        self._accepting.start()

    def stop(self) -> None:
        """Stop accepting and close every open connection."""
        self._stopping.set()
        self._accepting.join(5)
        self._listener.close()
        with self._lock:
            links = list(self._links)
        for link in links:
            self._close(link)

    def arm(self, cut: Cut) -> None:
        """Cut as `cut` says from now on (replaces any cut armed before)."""
        with self._lock:
            self._cut = cut

    def disarm(self) -> None:
        with self._lock:
            self._cut = None

    def cut_all(self) -> int:
        """Cut every open connection now, wherever it is (new ones still pass); how many."""
        with self._lock:
            links = list(self._links)
        for link in links:
            self._cut_link(link)
        return len(links)

    # -- connections ----------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()  # as if the server were down
                continue
            client.settimeout(None)
            server.settimeout(None)
            link = _Link(client, server)
            with self._lock:
                self._links.add(link)
                self.connections += 1
            for target in (self._from_client, self._from_server):
                threading.Thread(target=target, args=(link,), daemon=True).start()

    def _from_client(self, link: _Link) -> None:
        while not link.closed.is_set():
            data = _receive(link.client)
            if not data:
                break
            self._watch(link, data)
            allowed = link.client_left
            if allowed is not None:
                if len(data) >= allowed:
                    _send(link.server, data[:allowed])
                    self._cut_link(link)
                    return
                link.client_left = allowed - len(data)
            if not _send(link.server, data):
                break
        self._end(link, link.server)

    def _from_server(self, link: _Link) -> None:
        while not link.closed.is_set():
            data = _receive(link.server)
            if not data:
                break
            allowed = link.server_left
            if allowed is not None:
                if len(data) >= allowed:
                    _send(link.client, data[:allowed])
                    self._cut_link(link)
                    return
                link.server_left = allowed - len(data)
            if not _send(link.client, data):
                break
        self._end(link, link.client)

    def _end(self, link: _Link, target: socket.socket) -> None:
        """Pass an end of stream on; once both directions ended, close the link."""
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)
        with self._lock:
            link.ended += 1
            done = link.ended == 2
        if done:
            self._close(link)

    def _watch(self, link: _Link, data: bytes) -> None:
        """Look for the armed trigger in the client's data; arm this link's cut when it fires.

        Set before the data is forwarded, so that the server's answer cannot slip through.
        """
        with self._lock:
            cut = self._cut
            if cut is None or cut.times <= 0 or link.client_left is not None:
                link.tail = b""
                return
            if link.server_left is not None:
                return
            window = link.tail + data
            link.tail = window[-(len(cut.trigger) - 1) :] if len(cut.trigger) > 1 else b""
            # IMAP and SMTP commands are case-insensitive (smtplib sends "data").
            lowered, trigger = window.lower(), cut.trigger.lower()
            start = 0
            while (found := lowered.find(trigger, start)) >= 0:
                start = found + len(trigger)
                if cut.skip > 0:
                    cut.skip -= 1
                    continue
                cut.times -= 1
                end_in_data = start - (len(window) - len(data))  # bytes of `data` up to the end
                if cut.client_bytes is not None:
                    link.client_left = end_in_data + cut.client_bytes
                else:
                    link.server_left = cut.server_bytes
                return

    def _cut_link(self, link: _Link) -> None:
        with self._lock:
            self.cuts += 1
        self._close(link)

    def _close(self, link: _Link) -> None:
        if link.closed.is_set():
            return
        link.closed.set()
        for sock in (link.client, link.server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        with self._lock:
            self._links.discard(link)


def _receive(sock: socket.socket) -> bytes:
    try:
        return sock.recv(CHUNK)
    except OSError:
        return b""


def _send(sock: socket.socket, data: bytes) -> bool:
    try:
        sock.sendall(data)
    except OSError:
        return False
    return True
