"""Microsoft Graph over HTTP: the one module that uses httpx to speak to Graph's REST API.

Every request carries the bearer token of a `TokenProvider` and `Prefer: IdType="ImmutableId"`,
so that a message keeps its id when it is moved. A refused token (401) is renewed once;
throttling (429, 503) is waited out as Retry-After asks, within the time one call may take;
past that, and for any network fault, a `GraphError` (a MailboxError) says what failed.
"""

from __future__ import annotations

import json
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from intake_bot.mail.imap_settings import is_loopback
from intake_bot.mail.tokens import CredentialsError, TokenProvider
from intake_bot.ports import MailboxError

log = logging.getLogger(__name__)

IMMUTABLE_IDS = 'IdType="ImmutableId"'
JSON_LIMIT = 16 * 1024 * 1024  # an answer about folders or a page of changes is far smaller
CONNECT_TIMEOUT = 15.0  # seconds: an unreachable host is reported soon, whatever `timeout` says
THROTTLED = (429, 503)
MAX_THROTTLED = 8  # throttled answers waited out for one call, however short Retry-After is
DEFAULT_RETRY_AFTER = 2.0  # seconds, when a throttled answer does not say


class GraphError(MailboxError):
    """Graph could not be reached, kept throttling, or answered with an error."""

    setting = "mailbox.graph_api_url"

    def __init__(self, message: str, *, status: int = 0, code: str = "") -> None:
        super().__init__(message)
        self.status = status  # 0: no answer (the network)
        self.code = code  # Graph's error code, e.g. ErrorItemNotFound


@dataclass(frozen=True)
class Reply:
    """An answer, its body read up to a limit (`truncated` when there was more)."""

    status: int
    body: bytes
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> dict[str, Any]:
        """The body as a JSON object; GraphError if it is not one."""
        data = self._parsed()
        if data is None:
            raise GraphError(f"Graph answered HTTP {self.status} with a body that is not JSON")
        return data

    @property
    def code(self) -> str:
        """Graph's error code (`{"error": {"code": ...}}`), or ""."""
        error = (self._parsed() or {}).get("error")
        return str(error.get("code", "")) if isinstance(error, dict) else ""

    def fault(self, what: str) -> GraphError:
        """This answer as the error it is, naming `what` was being done."""
        error = (self._parsed() or {}).get("error")
        detail = str(error.get("message", ""))[:200] if isinstance(error, dict) else ""
        text = f"{what}: Graph answered HTTP {self.status} {self.code}".rstrip()
        return GraphError(
            f"{text}: {detail}" if detail else text, status=self.status, code=self.code
        )

    def _parsed(self) -> dict[str, Any] | None:
        if self.truncated:
            return None
        try:
            data = json.loads(self.body or b"{}")
        except ValueError:
            return None
        return data if isinstance(data, dict) else None


def check_api_url(url: str) -> str:
    """The Graph base URL without a trailing slash. ValueError unless it is https, or plain
    http to a loopback host (a test's simulator): the bearer token must not cross in clear."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{url!r} is not an https:// URL, e.g. https://graph.microsoft.com/v1.0")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError(f"{url!r}: plain http only to a loopback host; use https://")
    return url.rstrip("/")


def segment(text: str) -> str:
    """One path segment (a mailbox address, an id), escaped."""
    return quote(text, safe="@")


def odata_string(text: str) -> str:
    """A string literal for $filter: quoted, its quotes doubled, escaped for the URL."""
    return quote("'" + text.replace("'", "''") + "'", safe="'")


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds that a Retry-After header asks for (seconds or an HTTP date); None if unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class GraphClient:
    """Requests to one Graph service with one token provider. Connects on first use."""

    def __init__(
        self,
        api_url: str,
        tokens: TokenProvider,
        *,
        timeout: float = 60.0,
        ca_file: Path | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`timeout`: the most one call may take, throttled waits included. ValueError for an
        API URL that is not https (or http to loopback)."""
        self.base = check_api_url(api_url)
        self._origin = _origin(self.base)
        self._tokens = tokens
        self._timeout = timeout
        self._ca_file = ca_file
        self._sleep = sleep
        self._transport = transport
        self._http: httpx.Client | None = None

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc

    def url(self, path: str) -> str:
        return self.base + path

    def ours(self, link: str) -> bool:
        """Whether `link` (from an answer, or a stored cursor) is on this service: only then
        does it get our token."""
        return _origin(link) == self._origin

    def request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        body: bytes | None = None,
        json_body: dict[str, Any] | None = None,
        content_type: str | None = None,
        prefer: tuple[str, ...] = (),
        limit: int = JSON_LIMIT,
        deadline: float | None = None,
    ) -> Reply:
        """One call: renewed once on 401, waited on while throttled until `deadline` (on
        time.monotonic; default now + timeout). Any other status is the caller's to read.

        GraphError: no answer, or throttled past the deadline. CredentialsError: no token, or
        the token refused even after renewal.
        """
        if not self.ours(url):
            raise ValueError(f"{url!r} is not on {self.base}")
        if json_body is not None:
            body, content_type = json.dumps(json_body).encode(), "application/json"
        deadline = deadline if deadline is not None else time.monotonic() + self._timeout
        headers = {"Prefer": ", ".join((IMMUTABLE_IDS, *prefer))}
        if content_type:
            headers["Content-Type"] = content_type
        renewed, throttled = False, 0
        while True:
            reply, wait = self._once(method, url, headers, body, limit, deadline, what)
            if reply.status == 401 and not renewed:
                renewed = True
                log.info("%s: Graph refused the token; renewing it", self._tokens.name)
                self._tokens.invalidate()
                continue
            if reply.status == 401:
                raise CredentialsError(
                    f"{self._tokens.name}: Graph refused the access token even after renewing "
                    f"it ({reply.code or 'HTTP 401'}): check that the app registration has the "
                    "Mail.ReadWrite and Mail.Send permissions for this mailbox"
                )
            if reply.status not in THROTTLED:
                return reply
            throttled += 1
            wait = DEFAULT_RETRY_AFTER if wait is None else wait
            if throttled > MAX_THROTTLED or time.monotonic() + wait > deadline:
                raise GraphError(
                    f"{what}: Graph is throttling ({throttled} x HTTP {reply.status}, "
                    f"Retry-After {wait:g} s) past the {self._timeout:g} s one call may take "
                    "(timeout_seconds); tried again next time",
                    status=reply.status,
                    code=reply.code,
                )
            log.info("%s: throttled by Graph; waiting %.1f s", what, wait)
            self._sleep(wait)

    def close(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            http.close()

    def _once(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        limit: int,
        deadline: float,
        what: str,
    ) -> tuple[Reply, float | None]:
        token = self._tokens.token()  # CredentialsError goes up as it is
        left = max(deadline - time.monotonic(), 0.5)
        timeout = httpx.Timeout(left, connect=min(CONNECT_TIMEOUT, left))
        try:
            http = self._client()
            request = http.build_request(
                method,
                url,
                headers={**headers, "Authorization": f"Bearer {token}"},
                content=body,
                timeout=timeout,
            )
            response = http.send(request, stream=True)
            try:
                data, truncated = _read(response, limit)
            finally:
                response.close()
        except httpx.HTTPError as exc:
            raise GraphError(f"{what} failed on {self.host}: {_describe(exc)}") from exc
        return Reply(response.status_code, data, truncated), retry_after(
            response.headers.get("Retry-After")
        )

    def _client(self) -> httpx.Client:
        if self._http is None:
            verify: ssl.SSLContext | bool = True
            if self._ca_file is not None:
                verify = ssl.create_default_context(cafile=str(self._ca_file))
            self._http = httpx.Client(
                verify=verify, transport=self._transport, follow_redirects=False
            )
        return self._http


def _read(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """At most `limit` bytes of the body (as decoded), and whether there was more."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        if size + len(chunk) > limit:
            chunks.append(chunk[: limit - size])
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), False


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"https": 443, "http": 80}.get(scheme)
    except ValueError:  # not a number: matches nothing
        port = -1
    return scheme, (parts.hostname or "").lower(), port


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).strip()}".rstrip(": ")
