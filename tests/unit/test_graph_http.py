"""The Graph client's rules, on httpx's in-memory transport: the token renewed once on 401,
throttling waited out only as long as a call may take, every request asking for immutable ids,
and the token never sent to another host or in clear to a remote one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from intake_bot.mail.graph_http import (
    DEFAULT_RETRY_AFTER,
    MAX_THROTTLED,
    GraphClient,
    GraphError,
    check_api_url,
    odata_string,
    retry_after,
)
from intake_bot.mail.tokens import CredentialsError

API = "https://graph.test/v1.0"


class Rotating:
    """A provider whose token changes each time the server refuses one."""

    name = "mailbox"

    def __init__(self) -> None:
        self.issued = 0
        self.invalidated = 0

    def token(self) -> str:
        self.issued += 1
        return f"token-{self.invalidated}"

    def invalidate(self) -> None:
        self.invalidated += 1

    def fingerprint(self) -> str:
        return "test"


def _client(
    answer: Callable[[httpx.Request], httpx.Response],
    *,
    timeout: float = 60.0,
    slept: list[float] | None = None,
    tokens: Rotating | None = None,
) -> GraphClient:
    sleeps = slept if slept is not None else []
    return GraphClient(
        API,
        tokens or Rotating(),
        timeout=timeout,
        sleep=sleeps.append,
        transport=httpx.MockTransport(answer),
    )


def test_every_request_asks_for_immutable_ids_and_carries_the_token() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "x"})

    reply = _client(answer).request(
        "GET", f"{API}/users/a@b/mailFolders/inbox", what="t", prefer=("odata.maxpagesize=5",)
    )
    assert reply.ok and reply.json() == {"id": "x"}
    (request,) = seen
    assert request.headers["Authorization"] == "Bearer token-0"
    assert request.headers["Prefer"] == 'IdType="ImmutableId", odata.maxpagesize=5'


def test_a_refused_token_is_renewed_once_and_the_request_made_again() -> None:
    tokens = Rotating()

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] != "Bearer token-1":
            return httpx.Response(401, json={"error": {"code": "InvalidAuthenticationToken"}})
        return httpx.Response(200, json={})

    assert _client(answer, tokens=tokens).request("GET", f"{API}/x", what="t").ok
    assert tokens.invalidated == 1 and tokens.issued == 2


def test_a_token_refused_after_renewal_is_a_credentials_error() -> None:
    tokens = Rotating()
    client = _client(lambda r: httpx.Response(401, json={}), tokens=tokens)
    with pytest.raises(CredentialsError, match="refused the access token even after renewing"):
        client.request("GET", f"{API}/x", what="t")
    assert tokens.invalidated == 1 and tokens.issued == 2


def test_throttling_is_waited_out_as_retry_after_asks() -> None:
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "3"}, json={}),
            httpx.Response(503, json={}),  # no Retry-After: the default wait
            httpx.Response(200, json={"ok": True}),
        ]
    )
    slept: list[float] = []
    reply = _client(lambda r: next(answers), slept=slept).request("GET", f"{API}/x", what="t")
    assert reply.json() == {"ok": True}
    assert slept == [3.0, DEFAULT_RETRY_AFTER]


def test_throttling_longer_than_a_call_may_take_fails_at_once_naming_it() -> None:
    slept: list[float] = []
    client = _client(
        lambda r: httpx.Response(429, headers={"Retry-After": "30"}, json={}),
        timeout=10,
        slept=slept,
    )
    with pytest.raises(GraphError, match=r"reading things: Graph is throttling .*timeout_seconds"):
        client.request("GET", f"{API}/x", what="reading things")
    assert slept == []  # no point waiting for an answer that comes too late


def test_throttling_without_end_stops_after_a_bounded_number_of_tries() -> None:
    calls: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(429, headers={"Retry-After": "0"}, json={})

    with pytest.raises(GraphError, match="throttling") as caught:
        _client(answer).request("GET", f"{API}/x", what="t")
    assert len(calls) == MAX_THROTTLED + 1
    assert caught.value.status == 429


def test_a_network_fault_is_a_mailbox_error_naming_what_failed() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    with pytest.raises(GraphError, match=r"reading a message failed on graph\.test: ConnectError"):
        _client(answer).request("GET", f"{API}/x", what="reading a message")


def test_the_body_is_read_only_up_to_the_limit() -> None:
    client = _client(lambda r: httpx.Response(200, content=b"x" * 1000))
    reply = client.request("GET", f"{API}/x", what="t", limit=100)
    assert reply.truncated and reply.body == b"x" * 100
    whole = client.request("GET", f"{API}/x", what="t", limit=1000)
    assert not whole.truncated and len(whole.body) == 1000


def test_an_error_answer_names_graphs_code_and_message() -> None:
    body = {"error": {"code": "ErrorAccessDenied", "message": "Access is denied."}}
    reply = _client(lambda r: httpx.Response(403, json=body)).request("GET", f"{API}/x", what="t")
    fault = reply.fault("moving a message")
    assert (
        str(fault)
        == "moving a message: Graph answered HTTP 403 ErrorAccessDenied: Access is denied."
    )
    assert (fault.status, fault.code) == (403, "ErrorAccessDenied")


def test_the_token_goes_only_to_the_configured_service() -> None:
    sent: list[httpx.Request] = []
    client = _client(lambda r: sent.append(r) or httpx.Response(200))  # type: ignore[func-returns-value]
    for elsewhere in (
        "https://evil.test/v1.0/x",
        "http://graph.test/v1.0/x",
        "https://graph.test:8443/x",
    ):
        assert not client.ours(elsewhere)
        with pytest.raises(ValueError, match="is not on"):
            client.request("GET", elsewhere, what="t")
    assert client.ours("https://GRAPH.test:443/v1.0/users/a/messages/delta?$deltatoken=1")
    assert sent == []


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://graph.microsoft.com/v1.0/", True),
        ("http://127.0.0.1:8080/v1.0", True),
        ("http://localhost:8080/v1.0", True),
        ("http://[::1]:8080/v1.0", True),
        ("http://graph.microsoft.com/v1.0", False),
        ("http://10.0.0.1/v1.0", False),
        ("ftp://graph.microsoft.com/v1.0", False),
        ("graph.microsoft.com/v1.0", False),
    ],
)
def test_plain_http_is_allowed_only_to_loopback(url: str, allowed: bool) -> None:
    if allowed:
        assert not check_api_url(url).endswith("/")
    else:
        with pytest.raises(ValueError):
            check_api_url(url)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after("7") == 7.0
    assert retry_after("-3") == 0.0
    assert retry_after("Wed, 01 May 2024 12:00:20 GMT", now) == 20.0
    assert retry_after("soon") is None
    assert retry_after(None) is None


def test_filter_strings_double_their_quotes_and_are_escaped_for_the_url() -> None:
    assert odata_string("Processed") == "'Processed'"
    assert odata_string("O'Brien & co") == "'O''Brien%20%26%20co'"
