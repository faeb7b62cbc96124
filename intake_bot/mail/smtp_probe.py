"""`intake-bot check` for the outgoing SMTP server: DNS, TCP, TLS, EHLO and AUTH (a password,
or XOAUTH2 with a token from the provider). Never sends a message: it says QUIT after AUTH.

The second module (after smtp.py) allowed to use smtplib: a check needs the steps of a
connection one by one, which the transport keeps to itself.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Iterator
from contextlib import suppress

from intake_bot.domain.connectivity import Finding
from intake_bot.mail.probe_auth import Login, token_step
from intake_bot.mail.probe_net import (
    Server,
    certificate_finding,
    describe_error,
    plain_finding,
    reach,
    tls_fault,
    untrusted_finding,
    unverified_context,
)

_HOW = {"ssl": "TLS from the first byte", "starttls": "STARTTLS", "none": "plain"}
_SHOWN = ("size", "8bitmime", "smtputf8", "pipelining", "starttls", "auth")


def probe_smtp(server: Server, login: Login | None) -> Iterator[Finding]:
    """Each step's finding in turn; `login` None: the settings name no user (no AUTH)."""
    if not (yield from reach(server)):
        return
    conn, found = _open(server)
    yield found
    if conn is None:
        return
    try:
        yield server.finding("EHLO", True, _features(conn))
        yield from _auth(server, conn, login)
    except (smtplib.SMTPException, OSError) as exc:
        detail = f"the connection failed during the check: {_described(exc)}"
        yield server.finding("connection", False, detail, "run the check again")
    finally:
        with suppress(smtplib.SMTPException, OSError):
            conn.quit()
        conn.close()


def _open(server: Server) -> tuple[smtplib.SMTP | None, Finding]:
    """Connect, greet, EHLO and (for STARTTLS) upgrade: the connection, and what TLS showed."""
    how = _HOW[server.tls]
    try:
        conn = _client(server, server.context())
    except ssl.SSLCertVerificationError as exc:
        return None, untrusted_finding(server, exc, _peek_certificate(server), how)
    except smtplib.SMTPNotSupportedError:
        fix = f"use smtps:// (TLS on port 465) in {server.setting}, if the server offers it"
        return None, server.finding("TLS", False, "the server does not offer STARTTLS", fix)
    except ssl.SSLError as exc:
        return None, tls_fault(server, exc, how)
    except (smtplib.SMTPException, OSError) as exc:
        detail = f"connected, but no SMTP greeting: {_described(exc)}"
        fix = f"check that the port in {server.setting} is the server's SMTP submission port"
        # smtplib reports a greeting that never came as a disconnection that "timed out".
        silent = isinstance(exc, TimeoutError) or "timed out" in str(exc)
        if silent and server.tls != "ssl":
            fix = f"this port may expect TLS from the first byte: use smtps:// in {server.setting}"
        return None, server.finding(
            "TLS" if server.tls != "none" else "greeting", False, detail, fix
        )
    if server.tls == "none":
        return conn, plain_finding(server)
    sock = conn.sock
    der = sock.getpeercert(binary_form=True) if isinstance(sock, ssl.SSLSocket) else None
    version = sock.version() if isinstance(sock, ssl.SSLSocket) else None
    return conn, certificate_finding(server, der, version, how)


def _client(server: Server, context: ssl.SSLContext) -> smtplib.SMTP:
    conn: smtplib.SMTP
    if server.tls == "ssl":
        conn = smtplib.SMTP_SSL(
            server.host, server.port, timeout=server.connect_timeout, context=context
        )
    else:
        conn = smtplib.SMTP(server.host, server.port, timeout=server.connect_timeout)
    try:
        conn.timeout = server.timeout  # each command's, once connected
        if conn.sock is not None:
            conn.sock.settimeout(server.timeout)
        conn.ehlo()
        if server.tls == "starttls":
            conn.starttls(context=context)  # SMTPNotSupportedError when it is not offered
            conn.ehlo()
    except BaseException:
        conn.close()
        raise
    return conn


def _peek_certificate(server: Server) -> bytes | None:
    """The certificate a server that failed verification shows (nothing is sent to it)."""
    try:
        conn = _client(server, unverified_context())
    except (smtplib.SMTPException, OSError):
        return None
    try:
        sock = conn.sock
        return sock.getpeercert(binary_form=True) if isinstance(sock, ssl.SSLSocket) else None
    finally:
        conn.close()


def _features(conn: smtplib.SMTP) -> str:
    features = conn.esmtp_features
    shown = [f"{name.upper()} {features[name]}".strip() for name in _SHOWN if name in features]
    return f"answered; offers {', '.join(shown) or 'no extensions'}"


def _auth(server: Server, conn: smtplib.SMTP, login: Login | None) -> Iterator[Finding]:
    if login is None:
        detail = f"no user in {server.setting}: mail is sent without logging in"
        yield server.finding("AUTH", True, detail)
        return
    token: str | None = None
    if login.provider is not None:
        found, token = token_step(server, login, "smtp")
        yield found
        if token is None:
            return
    try:
        if token is not None:
            conn.auth("XOAUTH2", _xoauth2(login.username, token), initial_response_ok=True)
        else:
            conn.login(login.username, login.password or "")
    except smtplib.SMTPAuthenticationError as exc:
        yield _refused(server, login, exc)
        return
    except smtplib.SMTPNotSupportedError:
        detail = "the server offers no AUTH on this connection"
        fix = (
            f"many servers offer AUTH only after STARTTLS: use tls=starttls or smtps:// in "
            f"{server.setting}; or take the user out of it if no login is needed"
        )
        yield server.finding("AUTH", False, detail, fix)
        return
    yield server.finding("AUTH", True, f"{login.describe()}: accepted; no message was sent")


def _xoauth2(username: str, token: str) -> Callable[..., str]:
    def answer(challenge: bytes | None = None) -> str:
        # A second challenge carries the server's error (JSON): an empty answer ends it.
        return f"user={username}\x01auth=Bearer {token}\x01\x01" if challenge is None else ""

    return answer


def _refused(server: Server, login: Login, exc: smtplib.SMTPAuthenticationError) -> Finding:
    said = _described(exc)
    if login.provider is not None:
        detail = f"the server refused the token for {login.username}: {said}"
        fix = (
            "check the scopes or roles of the token above, and that SMTP AUTH is enabled for "
            "this mailbox (Exchange: Set-CASMailbox -SmtpClientAuthenticationDisabled $false)"
        )
    else:
        detail = f"the server refused the password for {login.username}: {said}"
        fix = f"check the password in {login.source} and the user name in {server.setting}"
    return server.finding("AUTH", False, detail, fix)


def _described(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        return " ".join(f"{exc.smtp_code} {text}".split())
    return describe_error(exc)
