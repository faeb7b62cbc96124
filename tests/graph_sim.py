"""A Microsoft Graph mail endpoint on loopback, for the Graph mailbox's and sendMail's tests.

Shaped like Graph where a client can tell: bearer tokens (401 otherwise), folders found by
well-known name or `$filter=displayName eq '…'` and created with POST, a delta query that pages
(`@odata.nextLink` with a skiptoken, then `@odata.deltaLink`) and reports moved-away messages as
`@removed`, raw MIME at `$value`, and moves that keep a message's id only when the client sent
`Prefer: IdType="ImmutableId"` (a new id otherwise, as Exchange gives). sendMail takes base64
MIME as text/plain and keeps it, decoded, exactly as given. Faults to inject: an error status
(429 with Retry-After, 403 ErrorAccessDenied, …) on the Nth matching request, a dropped
connection, expired delta tokens (410 syncStateNotFound). Every request is recorded, for the tests
to read. A folder's GET gives its totalItemCount; its messages list newest first (`$top` of them).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

LOOPBACK = "127.0.0.1"
TOKEN = "graph-test-token"
IMMUTABLE = 'IdType="ImmutableId"'
_FILTER = re.compile(r"^displayName eq '((?:[^']|'')*)'$")
Answer = tuple[int, dict[str, str], bytes]  # status, headers, body


@dataclass
class Folder:
    id: str
    name: str
    parent: str | None  # None: at the top, under the mailbox's root
    well_known: str | None = None


@dataclass
class Message:
    id: str
    folder: str
    raw: bytes
    subject: str
    received: str
    changed: int  # the change number when it last changed (arrived, moved)


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str  # after the version, each segment decoded: /users/a@b/messages/ID/$value
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class _Fault:
    when: Callable[[Recorded], bool] = lambda r: True
    after: int = 0  # matching requests let through first
    times: int = 1
    status: int = 0  # 0: drop the connection instead of answering
    retry_after: str | None = None
    code: str = ""


_CODES = {429: "TooManyRequests", 503: "ServiceUnavailable", 500: "InternalServerError"}
_CODES |= {403: "ErrorAccessDenied"}  # what an Exchange application access policy answers


@dataclass
class GraphSim:
    mailbox: str = "dsfc.enquiries@example.nhs.uk"
    tokens: set[str] = field(default_factory=lambda: {TOKEN})
    max_page_size: int = 100  # a page holds at most this many, whatever the client prefers
    base_url: str = ""
    folders: dict[str, Folder] = field(default_factory=dict)
    messages: dict[str, Message] = field(default_factory=dict)
    sent: list[bytes] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    _seq: int = 0
    _removed: list[tuple[int, str, str]] = field(default_factory=list)  # (change, folder, id)
    _generation: int = 0  # delta tokens and skiptokens of an older one have expired
    _tokens: dict[str, tuple[int, str, int]] = field(default_factory=dict)  # (gen, folder, seq)
    _pages: dict[str, tuple[int, list[dict[str, Any]], str]] = field(default_factory=dict)
    _faults: list[_Fault] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self._add_folder("Inbox", None, "inbox")

    def add_message(self, raw: bytes, folder: str = "Inbox") -> str:
        """Deliver `raw` into `folder` (a display name); returns its id."""
        with self.lock:
            self._seq += 1
            headers = BytesHeaderParser(policy=default).parsebytes(raw)
            received = datetime(2024, 1, 2, 9, tzinfo=UTC) + timedelta(seconds=self._seq)
            when, subject = received.strftime("%Y-%m-%dT%H:%M:%SZ"), str(headers["Subject"])
            message = Message(_new_id(), self.folder(folder).id, raw, subject, when, self._seq)
            self.messages[message.id] = message
            return message.id

    def add_folder(self, name: str, parent: str | None = None) -> Folder:
        """A folder at the top, or under the folder named `parent`."""
        with self.lock:
            return self._add_folder(name, self.folder(parent).id if parent else None)

    def folder(self, name: str) -> Folder:
        """A folder by display name or well-known name; StopIteration if none."""
        return next(f for f in self.folders.values() if _named(f, name))

    def ids_in(self, name: str) -> set[str]:
        """The ids of the messages in folder `name`; an empty set if there is no such folder."""
        with self.lock:
            folders = {f.id for f in self.folders.values() if _named(f, name)}
            return {m.id for m in self.messages.values() if m.folder in folders}

    def delete(self, message_id: str) -> None:
        """A person deletes a message (the next delta round reports it removed)."""
        with self.lock:
            gone = self.messages.pop(message_id)
            self._seq += 1
            self._removed.append((self._seq, gone.folder, gone.id))

    def expire_delta_tokens(self) -> None:
        """Every delta token and skiptoken given so far answers 410 syncStateNotFound."""
        with self.lock:
            self._generation += 1

    def fail(self, status: int = 429, *, retry_after: str | None = "1", **match: Any) -> None:
        """Answer `status` (with Retry-After) to the requests that `match` picks (see `drop`)."""
        code = _CODES.get(status, "ErrorInvalidRequest")
        with self.lock:
            self._faults.append(_Fault(status=status, retry_after=retry_after, code=code, **match))

    def drop(self, **match: Any) -> None:
        """Close the connection without an answer: `when` picks requests (default all),
        `after` lets that many of them through first, `times` is how often to fail."""
        with self.lock:
            self._faults.append(_Fault(**match))

    def calls(self, method: str, contains: str = "") -> list[Recorded]:
        return [r for r in self.requests if r.method == method and contains in r.path]

    def handle(self, rec: Recorded) -> Answer | None:
        """The answer (status, headers, body) to one request; None: drop the connection."""
        with self.lock:
            self.requests.append(rec)
            fault = self._fault_for(rec)
            if fault is not None:
                if not fault.status:
                    return None
                after = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                return _error(fault.status, fault.code, "injected", **after)
            token = rec.headers.get("authorization", "").removeprefix("Bearer ")
            if token not in self.tokens:
                return _error(401, "InvalidAuthenticationToken", "Access token is invalid.")
            parts = rec.path.strip("/").split("/")
            if parts[:1] != ["users"] or len(parts) < 3:
                return _error(400, "BadRequest", "Unsupported path")
            if parts[1].casefold() != self.mailbox.casefold():
                return _error(404, "ErrorInvalidUser", "The requested user is invalid.")
            return self._route(rec, parts[2:])

    def _route(self, rec: Recorded, parts: list[str]) -> Answer:
        method, n = rec.method, len(parts)
        if parts == ["sendMail"] and method == "POST":
            return self._send_mail(rec)
        if parts[0] == "mailFolders":
            folder = self._folder_by_id(parts[1]) if n > 1 else None
            if n > 1 and folder is None:
                return _error(404, "ErrorItemNotFound", "No such folder")
            if n == 1 or parts[2:] == ["childFolders"]:
                parent = folder.id if folder else None
                if method in ("GET", "POST"):
                    listing = method == "GET"
                    return (self._list_folders if listing else self._create_folder)(rec, parent)
            elif folder is not None and method == "GET":
                if n == 2:
                    return _ok({**_folder_json(folder), "totalItemCount": len(self._in(folder))})
                if parts[2:] == ["messages"]:
                    top = self._in(folder)[: int(rec.query.get("$top", "10"))]
                    return _ok({"value": [_delta_json(m) for m in top]})
                if parts[2:] == ["messages", "delta"]:
                    return self._delta(rec, folder)
        if parts[0] == "messages" and n >= 2:
            message = self.messages.get(parts[1])
            if message is None:
                return _error(404, "ErrorItemNotFound", "The specified object was not found.")
            if parts[2:] == ["$value"] and method == "GET":
                return 200, {"Content-Type": "text/plain"}, message.raw
            if parts[2:] == ["move"] and method == "POST":
                return self._move(rec, message)
        return _error(405, "ErrorInvalidRequest", "The OData request is not supported.")

    def _in(self, folder: Folder) -> list[Message]:
        """The folder's messages, newest first."""
        here = [m for m in self.messages.values() if m.folder == folder.id]
        return sorted(here, key=lambda m: m.received, reverse=True)

    def _fault_for(self, rec: Recorded) -> _Fault | None:
        for fault in self._faults:
            if fault.times <= 0 or not fault.when(rec):
                continue
            if fault.after > 0:
                fault.after -= 1
                continue
            fault.times -= 1
            return fault
        return None

    def _add_folder(self, name: str, parent: str | None, well_known: str | None = None) -> Folder:
        folder = Folder(_new_id(), name, parent, well_known)
        self.folders[folder.id] = folder
        return folder

    def _folder_by_id(self, key: str) -> Folder | None:
        for folder in self.folders.values():
            if key == folder.id or key.casefold() == (folder.well_known or "").casefold():
                return folder
        return None

    def _list_folders(self, rec: Recorded, parent: str | None) -> Answer:
        found = [f for f in self.folders.values() if f.parent == parent]
        wanted = rec.query.get("$filter")
        if wanted is not None:
            match = _FILTER.match(wanted)
            if match is None:
                return _error(400, "ErrorInvalidUrlQueryFilter", "Unsupported filter")
            name = match.group(1).replace("''", "'")
            found = [f for f in found if f.name.casefold() == name.casefold()]
        return _ok({"value": [_folder_json(f) for f in found]})

    def _create_folder(self, rec: Recorded, parent: str | None) -> Answer:
        name = str(json.loads(rec.body or b"{}").get("displayName", ""))
        if not name:
            return _error(400, "ErrorInvalidRequest", "displayName is required")
        taken = {f.name.casefold() for f in self.folders.values() if f.parent == parent}
        if name.casefold() in taken:
            return _error(409, "ErrorFolderExists", "A folder with that name already exists.")
        return _ok(_folder_json(self._add_folder(name, parent)), 201)

    def _delta(self, rec: Recorded, folder: Folder) -> Answer:
        link = f"{self.base_url}/users/{self.mailbox}/mailFolders/{folder.id}/messages/delta"
        skip, delta = rec.query.get("$skiptoken"), rec.query.get("$deltatoken")
        if skip is not None:
            generation, items, end = self._pages.pop(skip, (-1, [], ""))
            if generation != self._generation:
                return _error(410, "syncStateNotFound", "The sync state is not found or expired.")
        else:
            since = 0
            if delta is not None:
                generation, held, since = self._tokens.get(delta, (-1, "", 0))
                if generation != self._generation or held != folder.id:
                    return _error(410, "syncStateNotFound", "The sync state is not found.")
            items = self._changes(folder.id, since)
            end = secrets.token_urlsafe(12)
            self._tokens[end] = (self._generation, folder.id, self._seq)
        size = min(self.max_page_size, _max_page_size(rec.headers.get("prefer", "")))
        page, rest = items[:size], items[size:]
        body: dict[str, Any] = {"value": page}
        if rest:
            token = secrets.token_urlsafe(12)
            self._pages[token] = (self._generation, rest, end)
            body["@odata.nextLink"] = f"{link}?$skiptoken={token}"
        else:
            body["@odata.deltaLink"] = f"{link}?$deltatoken={end}"
        return _ok(body)

    def _changes(self, folder: str, since: int) -> list[dict[str, Any]]:
        here = sorted(
            (m for m in self.messages.values() if m.folder == folder and m.changed > since),
            key=lambda m: m.changed,
        )
        items = [_delta_json(m) for m in here]
        if since:  # a first round has nothing to report removed
            items += [
                {"id": key, "@removed": {"reason": "deleted"}}
                for change, where, key in self._removed
                if where == folder and change > since
            ]
        return items

    def _move(self, rec: Recorded, message: Message) -> Answer:
        target = self._folder_by_id(str(json.loads(rec.body or b"{}").get("destinationId", "")))
        if target is None:
            return _error(400, "ErrorInvalidIdMalformed", "Id is malformed.")
        self._seq += 1
        self._removed.append((self._seq, message.folder, message.id))
        if IMMUTABLE not in rec.headers.get("prefer", ""):  # Exchange gives a new id
            del self.messages[message.id]
            message.id = _new_id()
            self.messages[message.id] = message
        message.folder, message.changed = target.id, self._seq
        return _ok({**_delta_json(message), "parentFolderId": target.id}, 201)

    def _send_mail(self, rec: Recorded) -> Answer:
        if not rec.headers.get("content-type", "").startswith("text/plain"):
            return _error(400, "ErrorInvalidRequest", "Only MIME (text/plain) is simulated")
        try:
            raw = base64.b64decode(rec.body, validate=True)
        except binascii.Error:
            return _error(400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string")
        self.sent.append(raw)
        return 202, {}, b""


def _named(folder: Folder, name: str) -> bool:
    return name.casefold() in (folder.name.casefold(), (folder.well_known or "").casefold())


def _max_page_size(prefer: str) -> int:
    for item in prefer.split(","):
        name, _, value = item.strip().partition("=")
        if name == "odata.maxpagesize" and value.isdigit():
            return int(value)
    return 10  # Graph's own page size for messages


def _new_id() -> str:
    return "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A" + secrets.token_urlsafe(18) + "="


def _folder_json(folder: Folder) -> dict[str, Any]:
    return {"id": folder.id, "displayName": folder.name, "parentFolderId": folder.parent}


def _delta_json(message: Message) -> dict[str, Any]:
    fields = {"id": message.id, "subject": message.subject, "receivedDateTime": message.received}
    return {"@odata.type": "#microsoft.graph.message", **fields}


def _ok(body: dict[str, Any], status: int = 200) -> Answer:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _error(status: int, code: str, message: str = "", **headers: str) -> Answer:
    body = json.dumps({"error": {"code": code, "message": message or code}}).encode()
    return status, {"Content-Type": "application/json", **headers}, body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Graph: a client reuses its connection
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        path = "/".join(unquote(p) for p in url.path.split("/"))
        rec = Recorded(
            method=self.command,
            path=path.removeprefix("/v1.0"),
            query=dict(parse_qsl(url.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        answer = self.server.sim.handle(rec)
        if answer is None:
            self.close_connection = True
            return
        status, headers, data = answer
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve  # http.server's names

    def log_message(self, format: str, *args: Any) -> None:  # http.server's name
        """Quiet: the test reads `sim.requests` instead."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sim: GraphSim

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet about a client that hung up (the tests drop connections on purpose); loud
        about anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def running_graph_sim(**options: Any) -> Iterator[GraphSim]:
    """A simulator serving on a free loopback port until the block ends."""
    server = _Server((LOOPBACK, 0), _Handler)
    sim = GraphSim(**options)
    sim.base_url = f"http://{LOOPBACK}:{server.server_address[1]}/v1.0"
    server.sim = sim
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="graph-sim", daemon=True
    )
    thread.start()
    try:
        yield sim
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
