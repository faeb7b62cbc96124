"""One email takes at most `outgoing.timeout_seconds` to send, every command together: a server
that answers each command slowly (but each within the timeout) cannot hold a sender longer than
that, so an outbox claim sized on it never lapses during a send (issue 9, finding 9)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from intake_bot.mail.smtp import SmtpTransport
from intake_bot.ports import SendError

pytestmark = pytest.mark.integration


@contextmanager
def slow_smtp_server(pause: float) -> Iterator[tuple[int, list[bytes]]]:
    """A loopback SMTP server that waits `pause` seconds before every reply; yields its port and
    the commands it was sent."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    heard: list[bytes] = []
    stop = threading.Event()

    def reply(conn: socket.socket, text: bytes) -> None:
        time.sleep(pause)
        if not stop.is_set():
            conn.sendall(text)

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(10)
            reader = conn.makefile("rb")
            try:
                reply(conn, b"220 slow.example ESMTP\r\n")
                in_data = False
                for line in reader:
                    if stop.is_set():
                        return
                    if in_data:
                        if line == b".\r\n":
                            in_data = False
                            reply(conn, b"250 queued\r\n")
                        continue
                    heard.append(line.split(b" ")[0].strip().upper())
                    if line.upper().startswith(b"DATA"):
                        in_data = True
                        reply(conn, b"354 go on\r\n")
                    elif line.upper().startswith(b"QUIT"):
                        reply(conn, b"221 bye\r\n")
                        return
                    else:
                        reply(conn, b"250 ok\r\n")
            except OSError:
                return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], heard
    finally:
        stop.set()
        listener.close()
        thread.join(10)


def _transport(port: int, timeout: float) -> SmtpTransport:
    return SmtpTransport(
        host="127.0.0.1", port=port, security="none", timeout=timeout, local_hostname="localhost"
    )


RAW = b"From: a@dsfc.example\r\nTo: b@nhs.example\r\nSubject: x\r\nMessage-ID: <m@x>\r\n\r\nhi\r\n"


def test_a_send_never_outlasts_its_timeout_however_the_server_spreads_its_delays() -> None:
    # Six replies (greeting, EHLO, MAIL, RCPT, DATA, end of data) at 0.4 s each take 2.4 s,
    # each well inside a 1 s timeout: the whole send still stops at 1 s.
    with slow_smtp_server(0.4) as (port, heard):
        transport = _transport(port, 1.0)
        started = time.monotonic()
        with pytest.raises(SendError) as error:
            transport.send(
                sender="a@dsfc.example", recipients=["b@nhs.example"], raw=RAW, message_id="<m@x>"
            )
        took = time.monotonic() - started
        transport.close()
    assert not error.value.permanent  # tried again later, not given up
    assert took < 1.6, f"the send took {took:.2f} s with a 1 s timeout"
    assert b"DATA" not in heard  # it stopped before the message was offered


def test_a_server_slow_within_the_deadline_still_takes_the_email() -> None:
    with slow_smtp_server(0.05) as (port, heard):
        transport = _transport(port, 5.0)
        transport.send(
            sender="a@dsfc.example", recipients=["b@nhs.example"], raw=RAW, message_id="<m@x>"
        )
        # The kept connection is not timed between sends: a later QUIT is not refused.
        time.sleep(0.2)
        transport.close()
    assert heard[:4] == [b"EHLO", b"MAIL", b"RCPT", b"DATA"]
    assert heard[-1] == b"QUIT"
