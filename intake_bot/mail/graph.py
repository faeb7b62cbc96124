"""A Microsoft 365 / NHSmail mailbox read through Microsoft Graph: `graph://MAILBOX/FOLDER`.

What is new comes from the folder's delta query: the final `@odata.deltaLink` of a round is the
cursor, so a poll asks only for what changed since the last. A message is keyed by its immutable
id (kept when it is moved), read as raw MIME (`$value`: reading changes nothing, an unopened
message stays unread) and, once filed, moved to the processed or quarantine folder: the only
change the bot ever makes to a received message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from intake_bot.config_mail import GRAPH_API
from intake_bot.forms.mime import MAX_MESSAGE_BYTES
from intake_bot.mail.graph_http import GraphClient, GraphError, odata_string, segment
from intake_bot.mail.tokens import TokenProvider
from intake_bot.ports import Candidate, Changes, MailboxError, MessageRef, Settlement

log = logging.getLogger(__name__)

# Folders Graph knows by name in any language; any other name is a folder's display name.
WELL_KNOWN = frozenset(
    {"inbox", "archive", "deleteditems", "drafts", "junkemail", "sentitems", "outbox"}
    | {"msgfolderroot", "clutter", "conversationhistory", "scheduled"}
)
DELTA_FIELDS = "subject,receivedDateTime"
PAGE_SIZE = 100  # messages a page of changes (Graph's own default is 10)
MAX_PAGES = 10_000  # a round that never ends is a fault, not a mailbox
# One byte more than the intake parses: a longer message is cut here, and the intake, seeing
# it over its own limit, reads only its headers and names the cut to the sender and to staff.
MESSAGE_LIMIT = MAX_MESSAGE_BYTES + 1
# What Graph answers when a delta token can no longer be used (HTTP 410, or these codes).
RESYNC_CODES = frozenset({"syncstatenotfound", "resyncrequired", "syncstateinvalid"})
EXAMPLE = "graph://dsfc.enquiries@nhs.net/Inbox"


class FolderMissingError(MailboxError):
    """The folder the settings name is not in the mailbox (and is not to be created)."""


def parse_url(url: str) -> tuple[str, str]:
    """(mailbox address, folder path) of `graph://MAILBOX/FOLDER`; the folder defaults to
    Inbox, `Inbox/Requests` is a sub-folder. ValueError if the mailbox is missing."""
    parts = urlsplit(url)
    mailbox = unquote(parts.netloc)
    if parts.scheme != "graph" or not mailbox or ":" in mailbox or mailbox.startswith("@"):
        raise ValueError(f"name the mailbox (and no port), e.g. {EXAMPLE}")
    folder = "/".join(p for p in unquote(parts.path).split("/") if p)
    return mailbox, folder or "Inbox"


class GraphMailbox:
    """One folder of a mailbox, read through Graph (`ports.MailSource`).

    The key is the message's immutable id; the cursor is "FOLDER-ID DELTA-LINK", so that a
    cursor left by another folder is never used on this one.
    """

    push = False  # no push: polled on its interval

    def __init__(
        self,
        *,
        mailbox: str,
        tokens: TokenProvider,
        folder: str = "Inbox",
        api_url: str = GRAPH_API,
        processed_folder: str | None = "Processed",
        quarantine_folder: str | None = "Quarantine",
        timeout: float = 60.0,
        ca_file: Path | None = None,
        page_size: int = PAGE_SIZE,
        message_limit: int = MESSAGE_LIMIT,
        name: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Connects on first use. ValueError for an API URL that is not https (or plain http
        to a loopback host). `name` defaults to graph://MAILBOX/FOLDER."""
        self._http = GraphClient(
            api_url, tokens, timeout=timeout, ca_file=ca_file, sleep=sleep, transport=transport
        )
        self._mailbox = mailbox
        self._user = f"/users/{segment(mailbox)}"
        self._folder = folder
        self._processed = processed_folder or None
        self._quarantine = quarantine_folder or None
        self._page_size = page_size
        self._message_limit = message_limit
        self._folder_ids: dict[str, str] = {}
        self._said_ids_change = False
        self.name = name or f"graph://{mailbox}/{folder}"

    # -- ports.MailSource ---------------------------------------------------------------------

    def changes(self, cursor: str | None) -> Changes:
        """What changed in the folder since `cursor` (everything, for None or an expired one)."""
        folder_id = self._folder_id(self._folder, create=False)
        start = self._read_cursor(cursor, folder_id)
        try:
            try:
                items, link = self._delta(folder_id, start)
            except _ExpiredError:
                if start is None:
                    raise
                # Nothing is filed twice: what was filed and is still here is known by its key.
                log.warning("%s: the delta token has expired; reading the whole folder", self.name)
                items, link = self._delta(folder_id, None)
        except _ExpiredError:
            raise GraphError(f"{self.name}: Graph refused even a new delta query (410)") from None
        found = candidates(items, self.name)
        log.debug("%s: %d new or changed message(s)", self.name, len(found))
        return Changes(candidates=found, cursor=f"{folder_id} {link}")

    def fetch(self, refs: Sequence[MessageRef]) -> Iterator[tuple[MessageRef, bytes]]:
        """The raw MIME of each message in the order asked; vanished ones (404) skipped."""
        for ref in refs:
            key = self._key(ref)
            url = self._message(key, "/$value")
            reply = self._http.request(
                "GET", url, what="reading a message", limit=self._message_limit
            )
            if reply.status == 404:
                log.debug("%s %s: gone before it was read", self.name, key)
                continue
            if not reply.ok:
                raise reply.fault(f"{self.name}: reading a message")
            if reply.truncated:
                log.warning(
                    "%s %s: over %d bytes; only that much is kept and its headers read",
                    self.name,
                    key,
                    self._message_limit,
                )
            yield ref, reply.body

    def settle(self, refs: Sequence[MessageRef], outcome: Settlement) -> None:
        """Filed: moved to the processed folder (if one is set). Quarantined: moved to the
        quarantine folder. Not ours: nothing. Folders are created at the top when missing;
        a message already moved (404) is done."""
        folder = {
            Settlement.FILED: self._processed,
            Settlement.QUARANTINED: self._quarantine,
            Settlement.NOT_OURS: None,
        }[outcome]
        keys = [self._key(ref) for ref in refs]
        if folder is None or not keys:
            return
        destination = self._folder_id(folder, create=True)
        for key in keys:
            what = f"{self.name}: moving a message to {folder}"
            url = self._message(key, "/move")
            reply = self._http.request(
                "POST", url, what=what, json_body={"destinationId": destination}
            )
            if reply.status == 404:
                continue  # moved or deleted already
            if not reply.ok:
                raise reply.fault(what)
            self._check_same_id(key, reply.json())

    def wait(self, timeout: float) -> bool:
        """No push: poll on the interval."""
        return False

    # -- for `intake-bot check`, which reads only ---------------------------------------------

    @property
    def client(self) -> GraphClient:
        return self._http

    def find_folder(self, path: str) -> str | None:
        """The id of the folder at `path` (display names, a well-known name first), or None
        when there is none; creates nothing."""
        try:
            return self._folder_id(path, create=False)
        except FolderMissingError:
            return None

    def close(self) -> None:
        self._http.close()

    # -- helpers ------------------------------------------------------------------------------

    def _delta(self, folder_id: str, start: str | None) -> tuple[list[dict[str, Any]], str]:
        """Every page of one round of the delta query: its items and its final deltaLink."""
        path = f"{self._user}/mailFolders/{segment(folder_id)}/messages/delta"
        url = start or self._http.url(f"{path}?$select={DELTA_FIELDS}")
        items: list[dict[str, Any]] = []
        what = f"{self.name}: reading the folder's changes"
        for _ in range(MAX_PAGES):
            reply = self._http.request(
                "GET", url, what=what, prefer=(f"odata.maxpagesize={self._page_size}",)
            )
            if reply.status == 410 or reply.code.casefold() in RESYNC_CODES:
                raise _ExpiredError
            if not reply.ok:
                raise reply.fault(what)
            page = reply.json()
            items.extend(item for item in page.get("value", []) if isinstance(item, dict))
            next_link, delta_link = page.get("@odata.nextLink"), page.get("@odata.deltaLink")
            if isinstance(next_link, str):
                url = self._own(next_link)
            elif isinstance(delta_link, str):
                return items, self._own(delta_link)
            else:
                raise GraphError(f"{what}: a page with neither a nextLink nor a deltaLink")
        raise GraphError(f"{what}: more than {MAX_PAGES} pages in one round")

    def _read_cursor(self, cursor: str | None, folder_id: str) -> str | None:
        if cursor is None:
            return None
        held, _, link = cursor.partition(" ")
        if held == folder_id and link and self._http.ours(link):
            return link
        log.warning("%s: the cursor is not this folder's; reading the whole folder", self.name)
        return None

    def _own(self, link: str) -> str:
        """A link from an answer, checked to be on our Graph service before it gets our token."""
        if not self._http.ours(link):
            raise GraphError(f"{self.name}: Graph sent a link to another host; not followed")
        return link

    def _folder_id(self, path: str, *, create: bool) -> str:
        """The id of a folder by its path of display names (a well-known name first)."""
        if path not in self._folder_ids:
            parent: str | None = None
            for name in [p for p in path.split("/") if p]:
                parent = self._child(parent, name, path, create=create)
            if parent is None:
                raise ValueError(f"not a folder: {path!r}")
            self._folder_ids[path] = parent
        return self._folder_ids[path]

    def _child(self, parent: str | None, name: str, path: str, *, create: bool) -> str:
        if parent is None and name.casefold() in WELL_KNOWN:
            url = self._http.url(f"{self._user}/mailFolders/{name.casefold()}?$select=id")
            reply = self._http.request("GET", url, what=f"{self.name}: finding {name}")
            if reply.ok:
                return str(reply.json()["id"])
            if reply.status != 404:
                raise reply.fault(f"{self.name}: finding the folder {name}")
        where = f"{self._user}/mailFolders"
        where += f"/{segment(parent)}/childFolders" if parent else ""
        found = self._find(where, name)
        if found is not None:
            return found
        if not create:
            raise FolderMissingError(
                f"the folder {path!r} does not exist in {self._mailbox}: create it, or name an "
                f"existing folder in the mailbox's url, e.g. {EXAMPLE}"
            )
        what = f"{self.name}: creating the folder {path}"
        reply = self._http.request(
            "POST", self._http.url(where), what=what, json_body={"displayName": name}
        )
        if reply.ok:
            log.info("%s: created the folder %s", self.name, path)
            return str(reply.json()["id"])
        if reply.status == 409:  # another worker made it meanwhile
            found = self._find(where, name)
            if found is not None:
                return found
        raise reply.fault(what)

    def _find(self, where: str, name: str) -> str | None:
        query = f"?$filter=displayName eq {odata_string(name)}&$select=id,displayName"
        what = f"{self.name}: finding the folder {name}"
        reply = self._http.request("GET", self._http.url(where + query), what=what)
        if not reply.ok:
            raise reply.fault(what)
        for folder in reply.json().get("value", []):
            if str(folder.get("displayName", "")).casefold() == name.casefold():
                return str(folder["id"])
        return None

    def _message(self, key: str, suffix: str) -> str:
        return self._http.url(f"{self._user}/messages/{segment(key)}{suffix}")

    def _key(self, ref: MessageRef) -> str:
        if ref.mailbox != self.name or not ref.key:
            raise ValueError(f"{ref!r} does not belong to {self.name}")
        return ref.key

    def _check_same_id(self, key: str, moved: dict[str, Any]) -> None:
        if moved.get("id") not in (None, key) and not self._said_ids_change:
            self._said_ids_change = True  # once: every later move would say it again
            log.warning("%s: Graph gave a moved message a new id; ids are not immutable", self.name)


class _ExpiredError(Exception):
    """The delta token can no longer be used: read the whole folder again."""


def candidates(items: Sequence[dict[str, Any]], mailbox: str) -> list[Candidate]:
    """The messages of a delta round, oldest first: each once, as it was last seen; those the
    round reports removed (moved away, deleted) left out."""
    latest: dict[str, dict[str, Any]] = {}
    for item in items:
        key = item.get("id")
        if not isinstance(key, str) or not key:
            continue
        latest.pop(key, None)
        if "@removed" not in item:
            latest[key] = item
    ordered = sorted(latest.values(), key=lambda item: str(item.get("receivedDateTime") or ""))
    return [
        Candidate(ref=MessageRef(mailbox, item["id"]), subject=str(item.get("subject") or ""))
        for item in ordered
    ]
