"""`intake-bot check` for Microsoft Graph: a `graph://MAILBOX/FOLDER` mailbox and a
`graph://MAILBOX` outgoing server. DNS, TCP and TLS of the API's host, the token and what it
grants, whether Graph lets the app into the mailbox, the folders and how many messages wait.

Reads only: every request is a GET, so no folder is created, no message moved or marked, and
nothing is sent. The requests go through the adapter's own client (graph_http.GraphClient) and
folder lookup (GraphMailbox.find_folder), so the check finds what a poll would find.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Generator, Iterator
from dataclasses import dataclass

from intake_bot.domain.connectivity import Finding
from intake_bot.domain.subject import subject_matches
from intake_bot.mail.graph import GraphMailbox
from intake_bot.mail.graph_http import GraphClient, GraphError, Reply, segment
from intake_bot.mail.probe_auth import Login, jwt_claims, token_step
from intake_bot.mail.probe_net import (
    Server,
    certificate_finding,
    describe_error,
    reach,
    untrusted_finding,
    unverified_context,
)
from intake_bot.mail.tokens import CredentialsError

# What each use needs, app-only or delegated (.Shared: a person's token for a shared mailbox).
READ_GRANTS = ("Mail.ReadWrite", "Mail.ReadWrite.Shared")
SEND_GRANTS = ("Mail.Send", "Mail.Send.Shared")
SCAN_LIMIT = 1000  # subjects of the newest messages read in one request (Graph's largest $top)
_SHOWN_FOLDERS = 12


@dataclass(frozen=True)
class GraphCheck:
    """One Graph mailbox, or the mailbox that sends (`folder` None), as the settings say."""

    server: Server  # the API's host; `setting` is the block's graph_api_url
    login: Login  # always with a token provider: Graph takes OAuth 2.0 only
    api_url: str
    mailbox: str
    url_setting: str  # where the mailbox is named: "mailbox.url", "outgoing.url"
    folder: str | None = None
    processed_folder: str | None = None
    quarantine_folder: str | None = None
    watched_subject: str = ""


def probe_graph_mailbox(check: GraphCheck) -> Iterator[Finding]:
    """Each step's finding in turn; a step that fails ends the check of this mailbox."""
    token = yield from _reached(check, READ_GRANTS)
    if token is None:
        return
    assert check.login.provider is not None and check.folder is not None
    source = GraphMailbox(
        mailbox=check.mailbox,
        tokens=check.login.provider,
        folder=check.folder,
        api_url=check.api_url,
        timeout=check.server.timeout,
        ca_file=check.server.ca_file,
    )
    try:
        if (yield from _mailbox(check, source.client, token, sends=False)):
            yield from _folders(check, source)
    except (GraphError, CredentialsError) as exc:
        yield _broken(check, exc)
    finally:
        source.close()


def probe_graph_outgoing(check: GraphCheck) -> Iterator[Finding]:
    """DNS, TCP, TLS, the token (Mail.Send) and the mailbox; sendMail is never called."""
    token = yield from _reached(check, SEND_GRANTS)
    if token is None:
        return
    assert check.login.provider is not None
    client = GraphClient(
        check.api_url,
        check.login.provider,
        timeout=check.server.timeout,
        ca_file=check.server.ca_file,
    )
    try:
        yield from _mailbox(check, client, token, sends=True)
    except (GraphError, CredentialsError) as exc:
        yield _broken(check, exc)
    finally:
        client.close()


def _reached(check: GraphCheck, wanted: tuple[str, ...]) -> Generator[Finding, None, str | None]:
    """DNS, TCP, TLS and the token; the token when every step worked."""
    server = check.server
    if not (yield from reach(server)):
        return None
    found = _tls(server)
    yield found
    if not found.ok:
        return None
    found, token = token_step(server, check.login, "graph", wanted=wanted)
    yield found
    return token


def _tls(server: Server) -> Finding:
    """The handshake an https client makes, on a connection of its own (nothing is sent)."""
    if server.tls == "none":  # graph_api_url allows plain http to a loopback host only
        return server.finding("TLS", True, "none: plain http, to this machine only")
    how = "https"
    try:
        der, version = _handshake(server, server.context())
    except ssl.SSLCertVerificationError as exc:
        return untrusted_finding(server, exc, _peek_certificate(server), how)
    except (ssl.SSLError, OSError) as exc:
        detail = f"the TLS handshake failed: {describe_error(exc)}"
        fix = f"check the host and port in {server.setting}: Graph speaks https on port 443"
        return server.finding("TLS", False, detail, fix)
    return certificate_finding(server, der, version, how)


def _handshake(server: Server, context: ssl.SSLContext) -> tuple[bytes | None, str | None]:
    address = (server.host, server.port)
    with (
        socket.create_connection(address, server.connect_timeout) as raw,
        context.wrap_socket(raw, server_hostname=server.host) as tls,
    ):
        return tls.getpeercert(binary_form=True), tls.version()


def _peek_certificate(server: Server) -> bytes | None:
    """What a server that failed verification shows, read without trusting it."""
    try:
        der, _version = _handshake(server, unverified_context())
    except (ssl.SSLError, OSError):
        return None
    return der


def _mailbox(
    check: GraphCheck, client: GraphClient, token: str, *, sends: bool
) -> Generator[Finding, None, bool]:
    """Graph takes the token (login) and lets the app into the mailbox; whether it does."""
    server, who = check.server, check.mailbox
    path = f"/users/{segment(who)}/mailFolders/inbox?$select=id"
    try:
        reply = client.request("GET", client.url(path), what=f"reading {who}")
    except CredentialsError as exc:
        yield server.finding("login", False, f"Graph refused the token: {exc}", _token_fix(check))
        return False
    yield server.finding("login", True, f"Graph accepted the token ({check.login.method})")
    if reply.ok:
        detail = f"{who} answers"
        if sends:
            detail += "; sendMail is not tried: the check sends nothing"
        yield server.finding("mailbox", True, detail)
        return True
    said = str(reply.fault(f"reading {who}"))
    if reply.status == 403 and sends and _send_only(token):
        fix = "the first send shows whether Graph lets the app send as this mailbox"
        detail = f"{said}; expected with Mail.Send alone, which reads nothing"
        yield server.finding("mailbox", True, detail, fix, warning=True)
        return False
    yield server.finding("mailbox", False, said, _mailbox_fix(check, reply, token))
    return False


def _mailbox_fix(check: GraphCheck, reply: Reply, token: str) -> str:
    who, setting = check.mailbox, check.url_setting
    if reply.status == 403 and _app_only(check.login, token):
        return (
            "the app registration has no access to this mailbox: an Exchange application "
            f"access policy must include it (an Exchange administrator can run "
            f"Test-ApplicationAccessPolicy -Identity {who} -AppId <client id>), and the app "
            "needs the Mail.ReadWrite and Mail.Send application permissions with admin consent"
        )
    if reply.status == 403:
        return (
            f"the person who signed in has no access to {who}: give them full access to it "
            "(Add-MailboxPermission) and consent to Mail.ReadWrite.Shared and Mail.Send.Shared"
        )
    if reply.code == "MailboxNotEnabledForRESTAPI":
        return f"{who} is not an Exchange Online mailbox (on-premises, or without a licence)"
    if reply.status == 404:
        return f"check the mailbox's address in {setting}: the tenant has no such mailbox"
    return "run the check again; if Graph answers the same, its message above says why"


def _folders(check: GraphCheck, source: GraphMailbox) -> Iterator[Finding]:
    """The watched folder must exist; the processed and quarantine folders are made on first
    use. Then how many messages wait in the watched folder."""
    server, folder = check.server, check.folder or "Inbox"
    folder_id = source.find_folder(folder)
    if folder_id is None:
        detail = f"the watched folder {folder!r} does not exist in {check.mailbox}"
        names = _top_folders(source.client, check.mailbox)
        shown = ", ".join(names[:_SHOWN_FOLDERS]) + (", ..." if len(names) > _SHOWN_FOLDERS else "")
        fix = f"create it, or name an existing folder in {check.url_setting} (there are: {shown})"
        yield server.finding("folder", False, detail, fix)
    else:
        yield server.finding("folder", True, f"the watched folder {folder} exists")
    yield _other_folder(check, source, "processed", check.processed_folder, folder)
    yield _other_folder(check, source, "quarantine", check.quarantine_folder, folder)
    if folder_id is not None:
        yield _messages(check, source.client, folder_id, folder)


def _other_folder(
    check: GraphCheck, source: GraphMailbox, role: str, name: str | None, watched: str
) -> Finding:
    if not name:
        which = "filed" if role == "processed" else "quarantined"
        return check.server.finding(role, True, f"none set: {which} messages stay in {watched}")
    if source.find_folder(name) is not None:
        return check.server.finding(role, True, f"{name} exists")
    return check.server.finding(role, True, f"{name} does not exist yet: made on first use")


def _messages(check: GraphCheck, client: GraphClient, folder_id: str, folder: str) -> Finding:
    """The folder's count, and how many of its newest messages carry the watched subject (by
    the bot's own rule, which Graph's $filter cannot express): two requests, never a paging."""
    base = f"/users/{segment(check.mailbox)}/mailFolders/{segment(folder_id)}"
    what = f"counting the messages in {folder}"
    reply = client.request("GET", client.url(f"{base}?$select=totalItemCount"), what=what)
    if not reply.ok:
        raise reply.fault(what)
    total = int(reply.json().get("totalItemCount") or 0)
    newest = min(total, SCAN_LIMIT)
    matching = 0
    if newest:
        query = f"?$select=subject&$top={newest}&$orderby=receivedDateTime%20desc"
        reply = client.request("GET", client.url(f"{base}/messages{query}"), what=what)
        if not reply.ok:
            raise reply.fault(what)
        subjects = [str(m.get("subject") or "") for m in reply.json().get("value", [])]
        matching = sum(subject_matches(s, check.watched_subject) for s in subjects)
    detail = f"{total} in {folder}, {matching} of them with the watched subject"
    if total > newest:
        detail += f" (of the newest {newest})"
    return check.server.finding("messages", True, detail)


def _top_folders(client: GraphClient, mailbox: str) -> list[str]:
    path = f"/users/{segment(mailbox)}/mailFolders?$select=displayName&$top=100"
    reply = client.request("GET", client.url(path), what=f"listing the folders of {mailbox}")
    if not reply.ok:
        return []
    return sorted(str(f.get("displayName", "")) for f in reply.json().get("value", []))


def _broken(check: GraphCheck, exc: BaseException) -> Finding:
    if isinstance(exc, CredentialsError):  # the token could not be renewed part way
        return check.server.finding("token", False, f"no token: {exc}", _token_fix(check))
    detail = f"the connection failed during the check: {exc}"
    return check.server.finding("connection", False, detail, "run the check again")


def _token_fix(check: GraphCheck) -> str:
    label = check.server.label
    where = (
        f"whatever writes {label}.oauth2_token_file must put a current Graph token there"
        if check.login.method == "oauth2-token-file"
        else f"check {label}.oauth2 (the tenant in authority, client_id, the secret or certificate)"
    )
    return f"the token must be for https://graph.microsoft.com and unexpired; {where}"


def _app_only(login: Login, token: str) -> bool:
    """An app's own token (roles), not a person's (scp)."""
    claims = jwt_claims(token)
    if claims is not None:
        return "scp" not in claims
    return login.method != "oauth2-delegated"


def _send_only(token: str) -> bool:
    """A token that may send but not read: reading the mailbox is refused, sending is not."""
    claims = jwt_claims(token) or {}
    listed = claims.get("roles")
    granted = set(str(claims.get("scp", "")).split())
    granted |= {str(r) for r in listed} if isinstance(listed, list) else set()
    return bool(granted & set(SEND_GRANTS)) and not any(g.startswith("Mail.Read") for g in granted)
