"""Sending by SMTP: the one module that uses smtplib. Logs in with a password, or with an
OAuth 2.0 access token (SASL XOAUTH2) from a `TokenProvider`."""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from intake_bot.ports import SendError, TokenProvider

if TYPE_CHECKING:
    from typing_extensions import Buffer

log = logging.getLogger(__name__)

SECURITY_MODES = ("starttls", "ssl", "none")
_DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
_Refused = dict[str, tuple[int, bytes]]


class _Client(smtplib.SMTP):
    """smtplib's client under one deadline for a whole send: every command and every reply
    gets only what is left of it, so one email never takes longer than `timeout` in all (the
    outbox claim that keeps other senders off it is sized on that)."""

    deadline: float | None = None  # on time.monotonic; None between sends
    _host: str  # smtplib's own: the name TLS checks the server's certificate against

    def send(self, s: Buffer | str) -> None:
        self._arm()
        super().send(s)

    def getreply(self) -> tuple[int, bytes]:
        self._arm()
        return super().getreply()

    def _arm(self) -> None:
        if self.deadline is None or self.sock is None:
            return
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the email took longer to send than outgoing.timeout_seconds")
        self.sock.settimeout(min(self.timeout, left))


class _SslClient(_Client, smtplib.SMTP_SSL):
    """The same over implicit TLS (port 465)."""


class SmtpTransport:
    """An SMTP client that keeps one connection open across sends (`ports.MailTransport`).

    Errors before the message is offered (connecting, TLS, login) are never permanent: they say
    nothing about the message. Afterwards a 5xx reply is permanent and anything else is not.
    One send, connecting and a retry on a fresh connection included, takes at most `timeout`.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int | None = None,
        security: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 60.0,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
        allow_plain_auth: bool = False,
        tokens: TokenProvider | None = None,
    ) -> None:
        """Logs in only if `username` is given: with a token from `tokens` (XOAUTH2) if set,
        else with `password`; never over plain text unless `allow_plain_auth`."""
        if security not in SECURITY_MODES:
            raise ValueError(
                f"security must be one of {', '.join(SECURITY_MODES)}, not {security!r}"
            )
        if username and not (password or tokens):
            raise ValueError(f"no SMTP password for {username!r}")
        if username and security == "none" and not allow_plain_auth:
            raise ValueError(f"refusing to send a password to {host} without TLS")
        self._host = host
        self._port = port or _DEFAULT_PORTS[security]
        self._security = security
        self._username = username or None
        self._password = password or ""
        self._tokens = tokens
        self._timeout = timeout
        self._ssl_context = ssl_context
        self._local_hostname = local_hostname
        self._conn: _Client | None = None
        self.name = f"smtp://{host}:{self._port}"

    def send(self, *, sender: str, recipients: Sequence[str], raw: bytes, message_id: str) -> None:
        """Deliver `raw` as it is to `recipients`; raises SendError (see `permanent`)."""
        if not recipients:
            raise SendError(f"{message_id}: no recipients", permanent=True)
        reused = self._conn is not None
        deadline = time.monotonic() + self._timeout
        try:
            self._send_once(sender, recipients, raw, message_id, deadline)
        except (smtplib.SMTPServerDisconnected, _StaleConnectionError) as exc:
            if not reused:
                raise SendError(f"{self.name}: {_describe(exc)}") from exc
            # A kept connection may have been closed by the server while idle: one fresh try.
            log.info("%s: connection was closed; reconnecting", self.name)
            try:
                self._send_once(sender, recipients, raw, message_id, deadline)
            except (smtplib.SMTPServerDisconnected, _StaleConnectionError) as again:
                raise SendError(f"{self.name}: {_describe(again)}") from again
        finally:
            if self._conn is not None:
                self._conn.deadline = None  # a kept connection is not timed between sends

    def close(self) -> None:
        """QUIT, or just close the socket if the server has gone."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        conn.deadline = None
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()

    def _send_once(
        self, sender: str, recipients: Sequence[str], raw: bytes, message_id: str, deadline: float
    ) -> None:
        conn = self._connection(deadline)
        conn.deadline = deadline
        try:
            refused = conn.sendmail(
                sender,
                list(recipients),
                raw,
                mail_options=_mail_options(conn, sender, recipients, raw),
            )
        except smtplib.SMTPServerDisconnected:
            self._drop()
            raise
        except smtplib.SMTPResponseException as exc:
            self._drop()
            if exc.smtp_code == 421:  # "service closing": the server ended the session
                raise _StaleConnectionError(exc) from exc
            raise _rejected(exc, message_id) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise _rejected(exc, message_id) from exc
        _log_partial(refused, message_id)
        log.info("sent %s to %d recipient(s) via %s", message_id, len(recipients), self.name)

    def _connection(self, deadline: float) -> _Client:
        if self._conn is None:
            try:
                self._conn = self._open(deadline)
            except (smtplib.SMTPException, OSError) as exc:
                raise SendError(f"{self.name}: cannot connect: {_describe(exc)}") from exc
        return self._conn

    def _open(self, deadline: float) -> _Client:
        context = self._ssl_context or ssl.create_default_context()
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no time left to connect within outgoing.timeout_seconds")
        conn: _Client
        if self._security == "ssl":
            conn = _SslClient(local_hostname=self._local_hostname, timeout=left, context=context)
        else:
            conn = _Client(local_hostname=self._local_hostname, timeout=left)
        conn.deadline = deadline
        conn._host = self._host  # what TLS checks the certificate against, as __init__ would set
        try:
            code, greeting = conn.connect(self._host, self._port)
            if code != 220:  # as smtplib's own constructor checks
                raise smtplib.SMTPConnectError(code, greeting)
            conn.timeout = self._timeout  # what each command may take; the deadline caps it
            conn.ehlo()
            if self._security == "starttls":
                conn.starttls(context=context)  # refuses if the server does not offer it
                conn.ehlo()
            if self._username:
                self._log_in(conn, self._username)
        except BaseException:
            conn.close()
            raise
        return conn

    def _log_in(self, conn: _Client, username: str) -> None:
        """The password, or XOAUTH2. A token refused (535) is given back and, if the provider has
        another, that one is tried on the same connection: a token can stop working before the
        expiry its cache knows (revoked, expired early), and that should cost no failed send."""
        if self._tokens is None:
            conn.login(username, self._password)
            return
        token = self._tokens.token()
        try:
            conn.auth("XOAUTH2", _xoauth2(username, token))
            return
        except smtplib.SMTPAuthenticationError as exc:
            if exc.smtp_code != 535:
                raise
            refused = exc
        self._tokens.invalidate()
        fresh = self._tokens.token()
        if fresh != token:
            log.info("%s: the server refused the OAuth 2.0 token; trying a new one", self.name)
            try:
                conn.auth("XOAUTH2", _xoauth2(username, fresh))
                return
            except smtplib.SMTPAuthenticationError as exc:
                refused = exc
        raise SendError(
            f"{self.name}: the server refused the OAuth 2.0 token for {username} "
            f"({_describe(refused)}): check outgoing.auth and outgoing.oauth2, and that the app "
            "registration may send as this mailbox over SMTP"
        ) from refused

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _xoauth2(username: str, token: str) -> Callable[..., str]:
    """smtplib's answer for AUTH XOAUTH2 (it base64-encodes it)."""

    def answer(challenge: bytes | None = None) -> str:
        # A challenge after the first answer carries the server's error (JSON): an empty
        # answer ends the exchange, and the server then replies 535.
        return f"user={username}\x01auth=Bearer {token}\x01\x01" if challenge is None else ""

    return answer


class _StaleConnectionError(Exception):
    """The server closed a kept connection (421); worth one retry on a fresh one."""


def _mail_options(
    conn: smtplib.SMTP, sender: str, recipients: Sequence[str], raw: bytes
) -> list[str]:
    options = []
    if not (sender.isascii() and all(r.isascii() for r in recipients)):
        options.append("SMTPUTF8")  # smtplib refuses if the server lacks it: a permanent error
    if not raw.isascii() and conn.has_extn("8bitmime"):
        options.append("BODY=8BITMIME")
    return options


def _rejected(exc: Exception, message_id: str) -> SendError:
    """The SendError for a failure after the connection was made."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        permanent = bool(codes) and all(500 <= code < 600 for code in codes)
        shown = ", ".join(str(code) for code in codes)
        return SendError(f"{message_id}: every recipient refused ({shown})", permanent=permanent)
    if isinstance(exc, smtplib.SMTPResponseException):
        permanent = 500 <= exc.smtp_code < 600
        return SendError(f"{message_id}: refused: {_describe(exc)}", permanent=permanent)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return SendError(f"{message_id}: {_describe(exc)}", permanent=True)
    return SendError(f"{message_id}: {_describe(exc)}")


def _log_partial(refused: _Refused, message_id: str) -> None:
    if refused:
        codes = ", ".join(str(code) for code, _ in refused.values())
        log.warning(
            "%s: %d recipient(s) refused (%s); sent to the others", message_id, len(refused), codes
        )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        return f"{exc.smtp_code} {text}".strip()
    if isinstance(exc, _StaleConnectionError) and exc.args:
        return _describe(exc.args[0])
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
