"""`intake-bot check` for an IMAP mailbox: DNS, TCP, TLS, login, the folders, the server's
capabilities and how many messages wait. Reads only: the folder is opened with EXAMINE and
headers with `BODY.PEEK`, so no flag changes, and no folder is created.

The second module (after imap.py) allowed to use imapclient: a check needs the steps of a
connection one by one, which the mailbox adapter keeps to itself.
"""

from __future__ import annotations

import imaplib
import ssl
from collections.abc import Generator, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass

from imapclient import IMAPClient, SocketTimeout
from imapclient.exceptions import CapabilityError, LoginError

from intake_bot.domain.connectivity import Finding
from intake_bot.domain.subject import subject_matches
from intake_bot.mail._headers import decode_subject
from intake_bot.mail.imap import header_block
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

FILED_KEYWORD = "$IntakeBotFiled"  # what ImapMailbox flags a filed message with
SCAN_LIMIT = 5000  # the newest unfiled messages whose subjects are read to count the waiting
_BATCH = 500
_SUBJECT = b"BODY.PEEK[HEADER.FIELDS (SUBJECT)]"
_HOW = {"ssl": "TLS from the first byte", "starttls": "STARTTLS", "none": "plain"}


@dataclass(frozen=True)
class ImapCheck:
    """One IMAP mailbox as the settings describe it."""

    server: Server
    folder: str
    processed_folder: str | None
    quarantine_folder: str
    watched_subject: str
    poll_interval: int


def probe_imap(check: ImapCheck, login: Login) -> Iterator[Finding]:
    """Each step's finding in turn; a step that fails ends the check of this mailbox."""
    server = check.server
    if not (yield from reach(server)):
        return
    client, found = _open(server)
    yield found
    if client is None:
        return
    try:
        yield from _logged_in(check, client, login)
    except (imaplib.IMAP4.error, OSError) as exc:
        detail = f"the connection failed during the check: {describe_error(exc)}"
        fix = "run the check again; if it fails again, the server's log says why"
        yield server.finding("connection", False, detail, fix)
    finally:
        _close(client)


def _open(server: Server) -> tuple[IMAPClient | None, Finding]:
    """Connect, greet and (for STARTTLS) upgrade: the client, and what TLS showed."""
    how = _HOW[server.tls]
    try:
        client = _client(server, server.context())
    except ssl.SSLCertVerificationError as exc:
        return None, untrusted_finding(server, exc, _peek_certificate(server), how)
    except CapabilityError:
        fix = f"use imaps:// (TLS on port 993) in {server.setting}, if the server offers it"
        return None, server.finding("TLS", False, "the server does not offer STARTTLS", fix)
    except ssl.SSLError as exc:
        return None, tls_fault(server, exc, how)
    except (imaplib.IMAP4.error, OSError) as exc:
        return None, _greeting_fault(server, exc)
    if server.tls == "none":
        return client, plain_finding(server)
    sock = client.socket()
    der = sock.getpeercert(binary_form=True) if isinstance(sock, ssl.SSLSocket) else None
    version = sock.version() if isinstance(sock, ssl.SSLSocket) else None
    return client, certificate_finding(server, der, version, how)


def _client(server: Server, context: ssl.SSLContext) -> IMAPClient:
    timeout = SocketTimeout(connect=server.connect_timeout, read=server.timeout)
    client = IMAPClient(
        server.host,
        port=server.port,
        ssl=server.tls == "ssl",
        ssl_context=context,
        timeout=timeout,
    )
    if server.tls == "starttls":
        try:
            client.starttls(context)
        except BaseException:
            _shut(client)
            raise
    return client


def _peek_certificate(server: Server) -> bytes | None:
    """The certificate a server that failed verification shows, read over a handshake that
    does not verify it; nothing is sent over it."""
    try:
        client = _client(server, unverified_context())
    except (imaplib.IMAP4.error, OSError):
        return None
    try:
        sock = client.socket()
        return sock.getpeercert(binary_form=True) if isinstance(sock, ssl.SSLSocket) else None
    finally:
        _shut(client)


def _greeting_fault(server: Server, exc: BaseException) -> Finding:
    detail = f"connected, but no IMAP greeting: {describe_error(exc)}"
    if isinstance(exc, TimeoutError) and server.tls != "ssl":
        fix = f"this port may expect TLS from the first byte: use imaps:// in {server.setting}"
    else:
        fix = f"check that the port in {server.setting} is the server's IMAP port"
    return server.finding("TLS" if server.tls != "none" else "greeting", False, detail, fix)


def _logged_in(check: ImapCheck, client: IMAPClient, login: Login) -> Iterator[Finding]:
    server = check.server
    token: str | None = None
    if login.provider is not None:
        found, token = token_step(server, login, "imap")
        yield found
        if token is None:
            return
    try:
        if token is not None:
            client.oauth2_login(login.username, token)
        else:
            client.login(login.username, login.password or "")
    except LoginError as exc:
        yield _login_fault(check, client, login, exc)
        return
    yield server.finding("login", True, f"{login.describe()}: accepted")
    exists = yield from _folders(check, client)
    yield from _capabilities(check, client)
    if exists:
        yield from _messages(check, client)


def _login_fault(check: ImapCheck, client: IMAPClient, login: Login, exc: LoginError) -> Finding:
    server = check.server
    said = _server_said(exc)
    if login.provider is not None:
        offered = client.has_capability("AUTH=XOAUTH2")
        detail = f"the server refused the token for {login.username}: {said}"
        if not offered:
            detail += " (it does not offer AUTH=XOAUTH2)"
        fix = (
            "check the scopes or roles of the token above; for app-only access Exchange Online "
            "must also know the app's service principal and give it this mailbox "
            "(New-ServicePrincipal, Add-MailboxPermission)"
        )
    else:
        detail = f"the server refused the password for {login.username}: {said}"
        fix = f"check the password in {login.source} and the user name in {server.setting}"
        if server.host.endswith(("office365.com", "outlook.com")):
            fix += f"; Microsoft 365 accepts OAuth 2.0 only: set {server.label}.auth"
    return server.finding("login", False, detail, fix)


def _folders(check: ImapCheck, client: IMAPClient) -> Generator[Finding, None, bool]:
    """The watched folder must exist; the others are made on first use. Returns whether the
    watched one exists."""
    server = check.server
    exists = bool(client.folder_exists(check.folder))
    if exists:
        yield server.finding("folder", True, f"the watched folder {check.folder} exists")
    else:
        names = sorted(str(name) for _flags, _sep, name in client.list_folders())
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        fix = f"create it, or name an existing folder in {server.setting} (there are: {shown})"
        detail = f"the watched folder {check.folder!r} does not exist"
        yield server.finding("folder", False, detail, fix)
    if not check.processed_folder:
        detail = f"none set: filed messages stay in {check.folder}, flagged {FILED_KEYWORD}"
        yield server.finding("processed", True, detail)
    else:
        yield _other_folder(check, client, "processed", check.processed_folder)
    yield _other_folder(check, client, "quarantine", check.quarantine_folder)
    return exists


def _other_folder(check: ImapCheck, client: IMAPClient, role: str, name: str) -> Finding:
    if client.folder_exists(name):
        return check.server.finding(role, True, f"{name} exists")
    return check.server.finding(role, True, f"{name} does not exist yet: made on first use")


def _capabilities(check: ImapCheck, client: IMAPClient) -> Iterator[Finding]:
    """What the server offers that the bot uses, and what it does without each."""
    caps = {bytes(c).decode("ascii", "replace").upper() for c in client.capabilities()}
    idle, move, uidplus = "IDLE" in caps, "MOVE" in caps, "UIDPLUS" in caps
    every = f"polling only, every {check.poll_interval} s"
    yield _capability(check, "IDLE", idle, "new mail is noticed as it arrives", every)
    yield _capability(
        check, "MOVE", move, "a message is moved in one step", "a move is a copy, then a delete"
    )
    if uidplus or move:
        yield _capability(
            check, "UIDPLUS", uidplus, "a copy+delete removes only the bot's messages",
            "not needed while MOVE is there",
        )  # fmt: skip
    else:
        yield check.server.finding(
            "capabilities",
            True,
            "UIDPLUS missing too: after a copy the originals stay, marked \\Deleted, until the "
            "server or a person expunges them",
            fix="ask whoever runs the server for MOVE or UIDPLUS (RFC 6851, RFC 4315)",
            warning=True,
        )
    unused = "not needed: the bot reads by UID"
    yield _capability(check, "CONDSTORE", "CONDSTORE" in caps, unused, unused)


def _capability(check: ImapCheck, name: str, present: bool, yes: str, no: str) -> Finding:
    said = f"{name} present: {yes}" if present else f"{name} missing: {no}"
    return check.server.finding("capabilities", True, said)


def _messages(check: ImapCheck, client: IMAPClient) -> Iterator[Finding]:
    """How many messages wait: in the folder, not flagged as filed, with the watched subject."""
    server = check.server
    info = client.select_folder(check.folder, readonly=True)  # EXAMINE: changes nothing
    total = int(info.get(b"EXISTS", 0))
    keeps_keyword = _keeps_keyword(info.get(b"PERMANENTFLAGS"))
    if keeps_keyword is not None:
        yield _keyword(check, keeps_keyword)
    # Where keywords are not kept no message has one, and this is every message.
    unfiled = sorted(client.search(["NOT", "KEYWORD", FILED_KEYWORD]))
    looked_at = unfiled[-SCAN_LIMIT:]
    matching = sum(
        subject_matches(subject, check.watched_subject) for subject in _subjects(client, looked_at)
    )
    detail = (
        f"{total} in {check.folder}; {len(unfiled)} not filed yet, {matching} of them with "
        "the watched subject"
    )
    if len(unfiled) > len(looked_at):
        detail += f" (of the newest {len(looked_at)})"
    yield server.finding("messages", True, detail)


def _keyword(check: ImapCheck, kept: bool) -> Finding:
    if kept:
        return check.server.finding("keyword", True, f"the server keeps {FILED_KEYWORD}")
    detail = f"the server keeps no keywords: {FILED_KEYWORD} cannot be set"
    if check.processed_folder:
        return check.server.finding(
            "keyword", True, f"{detail}; filed messages are moved to {check.processed_folder}"
        )
    fix = f"set {check.server.label}.processed_folder, so that filed messages leave the folder"
    return check.server.finding("keyword", True, detail, fix, warning=True)


def _keeps_keyword(permanent: Sequence[bytes] | None) -> bool | None:
    """Whether the folder keeps our keyword; None when a read-only view does not say (most
    servers list no PERMANENTFLAGS for EXAMINE)."""
    if not permanent:
        return None
    return b"\\*" in permanent or FILED_KEYWORD.encode() in permanent


def _subjects(client: IMAPClient, uids: list[int]) -> Iterator[str]:
    for start in range(0, len(uids), _BATCH):
        response = client.fetch(uids[start : start + _BATCH], [_SUBJECT])
        for data in response.values():
            yield decode_subject(header_block(data))


def _server_said(exc: BaseException) -> str:
    text = str(exc).strip()
    if text.startswith(("b'", 'b"')):
        text = text[2:-1]
    return " ".join(text.split()) or type(exc).__name__


def _close(client: IMAPClient) -> None:
    try:
        client.logout()
    except (imaplib.IMAP4.error, OSError):
        _shut(client)


def _shut(client: IMAPClient) -> None:
    with suppress(imaplib.IMAP4.error, OSError):  # already gone: nothing to close
        client.shutdown()
