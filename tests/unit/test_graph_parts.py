"""The Graph adapters' pure parts and their wiring: the URL, what a delta round becomes, who
sendMail would reach, how sendMail's answers map to retry or give up, and the settings that
build (or refuse to build) a graph:// mailbox and transport without connecting."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from intake_bot.bootstrap import make_transport
from intake_bot.checks import check_settings
from intake_bot.config import ConfigError, Settings, load_settings
from intake_bot.mail.graph import GraphMailbox, candidates, parse_url
from intake_bot.mail.graph_send import GraphTransport, not_addressed
from intake_bot.mail.sources import open_source
from intake_bot.mail.tokens import StaticToken
from intake_bot.ports import CredentialsError, MessageRef, SendError
from intake_bot.samples import email


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("graph://dsfc@nhs.net", ("dsfc@nhs.net", "Inbox")),
        ("graph://dsfc@nhs.net/", ("dsfc@nhs.net", "Inbox")),
        ("graph://dsfc@nhs.net/inbox", ("dsfc@nhs.net", "inbox")),
        ("graph://dsfc@nhs.net/Inbox/Requests%20in", ("dsfc@nhs.net", "Inbox/Requests in")),
        ("graph://dsfc%40nhs.net/Shared", ("dsfc@nhs.net", "Shared")),
    ],
)
def test_the_url_names_the_mailbox_and_the_folder(url: str, expected: tuple[str, str]) -> None:
    assert parse_url(url) == expected


@pytest.mark.parametrize("url", ["graph:///Inbox", "graph://dsfc@nhs.net:443/Inbox", "imap://a@b"])
def test_a_url_without_a_mailbox_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="name the mailbox"):
        parse_url(url)


def test_a_delta_round_gives_each_message_once_oldest_first_without_the_removed() -> None:
    items: list[dict[str, Any]] = [
        {"id": "b", "subject": "second", "receivedDateTime": "2024-01-02T10:00:00Z"},
        {"id": "a", "subject": "first", "receivedDateTime": "2024-01-02T09:00:00Z"},
        {"id": "gone", "subject": "moved away", "receivedDateTime": "2024-01-01T09:00:00Z"},
        {"id": "gone", "@removed": {"reason": "deleted"}},
        {"id": "b", "subject": "second, changed", "receivedDateTime": "2024-01-02T10:00:00Z"},
        {"id": "never-seen", "@removed": {"reason": "deleted"}},
        {"subject": "no id"},
        {"id": "c", "subject": None, "receivedDateTime": "2024-01-03T00:00:00Z"},
    ]
    found = candidates(items, "box")
    assert [(c.ref, c.subject) for c in found] == [
        (MessageRef("box", "a"), "first"),
        (MessageRef("box", "b"), "second, changed"),
        (MessageRef("box", "c"), ""),
    ]
    assert all(c.cursor_after is None for c in found)  # a round resumes only from its start


def test_sendmail_reaches_only_whom_the_headers_name() -> None:
    raw = (
        b"From: a@example.org\r\nTo: =?utf-8?q?Aisha_Kh=C3=A1n?= <Aisha.Khan@NHS.net>,\r\n"
        b" b@nhs.net\r\nCc: c@nhs.net\r\nSubject: x\r\n\r\nbody\r\n"
    )
    assert not_addressed(raw, ["aisha.khan@nhs.net", "b@nhs.net", "c@nhs.net"]) == []
    assert not_addressed(raw, ["b@nhs.net", "d@nhs.net"]) == ["d@nhs.net"]


def _transport(status: int, seen: list[httpx.Request] | None = None) -> GraphTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        (seen if seen is not None else []).append(request)
        return httpx.Response(status, json={"error": {"code": "Code", "message": "why"}})

    return GraphTransport(
        mailbox="dsfc@nhs.net",
        tokens=StaticToken("t"),
        api_url="https://graph.test/v1.0",
        timeout=5,
        sleep=lambda s: None,
        transport=httpx.MockTransport(answer),
    )


@pytest.mark.parametrize(
    ("status", "permanent"),
    [
        *[(status, True) for status in (400, 403, 404, 413)],
        *[(status, False) for status in (429, 500, 503)],
    ],
)
def test_sendmail_refusals_are_permanent_and_the_rest_temporary(
    status: int, permanent: bool
) -> None:
    raw = email(to="b@nhs.net")
    with pytest.raises(SendError) as caught:
        _transport(status).send(
            sender="a@nhs.net", recipients=["b@nhs.net"], raw=raw, message_id="<m>"
        )
    assert caught.value.permanent is permanent


def test_a_token_refused_twice_is_a_credentials_fault_not_the_emails() -> None:
    with pytest.raises(CredentialsError, match="refused the access token"):
        _transport(401).send(
            sender="a@nhs.net",
            recipients=["b@nhs.net"],
            raw=email(to="b@nhs.net"),
            message_id="<m>",
        )


def test_sendmail_accepted_is_sent_and_an_unnamed_recipient_is_never_tried() -> None:
    seen: list[httpx.Request] = []
    transport = _transport(202, seen)
    raw = email(to="b@nhs.net")
    transport.send(sender="a@nhs.net", recipients=["B@nhs.net"], raw=raw, message_id="<m>")
    assert seen[0].url.path == "/v1.0/users/dsfc@nhs.net/sendMail"
    assert seen[0].headers["Content-Type"] == "text/plain"
    with pytest.raises(SendError, match="1 recipient") as caught:
        transport.send(sender="a@nhs.net", recipients=["x@nhs.net"], raw=raw, message_id="<m>")
    assert caught.value.permanent and len(seen) == 1


def _settings(tmp_path: Path, mailbox: str, outgoing: str = "") -> Settings:
    cfg = tmp_path / "graph.toml"
    cfg.write_text(f"[[mailbox]]\n{mailbox}\n[outgoing]\n{outgoing}\n")
    return load_settings(cfg, env={})


def test_a_graph_mailbox_with_a_token_file_is_built_without_connecting(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("t\n")
    settings = _settings(
        tmp_path,
        'url = "graph://dsfc@nhs.net/Inbox"\nname = "nhsmail"\n'
        f'auth = "oauth2-token-file"\noauth2_token_file = "{tmp_path / "token"}"\n'
        # Nothing listens here: building the source must not connect.
        'graph_api_url = "http://127.0.0.1:9/v1.0"',
        'url = "graph://dsfc@nhs.net"\nfrom_address = "dsfc@nhs.net"\n'
        f'oauth2_token_file = "{tmp_path / "token"}"\ngraph_api_url = "http://127.0.0.1:9/v1.0"',
    )
    source = open_source(settings, settings.mailbox)
    assert isinstance(source, GraphMailbox) and source.name == "nhsmail"
    source.close()
    assert isinstance(make_transport(settings), GraphTransport)
    assert [
        p for p in check_settings(settings) if p.setting.startswith(("mailbox", "outgoing"))
    ] == []


@pytest.mark.parametrize(
    ("mailbox", "expected"),
    [
        (
            'url = "graph://dsfc@nhs.net/Inbox"',
            "mailbox.auth: graph:// signs in with OAuth",
        ),
        ('url = "graph:///Inbox"\nauth = "oauth2-token-file"', "mailbox.url: name the mailbox"),
        (
            'url = "graph://dsfc@nhs.net"\noauth2_token_file = "t"\n'
            'graph_api_url = "http://graph.example/v1.0"',
            "mailbox.graph_api_url: 'http://graph.example/v1.0': plain http only to a loopback",
        ),
    ],
)
def test_a_graph_mailbox_that_cannot_work_names_the_setting(
    tmp_path: Path, mailbox: str, expected: str
) -> None:
    settings = _settings(tmp_path, mailbox)
    with pytest.raises(ConfigError, match="^" + re.escape(expected)):
        open_source(settings, settings.mailbox)


def test_a_graph_transport_that_cannot_work_names_the_setting(tmp_path: Path) -> None:
    mailbox = f'url = "maildir:{tmp_path / "mail"}"'
    settings = _settings(tmp_path, mailbox, 'url = "graph://dsfc@nhs.net"')
    with pytest.raises(ConfigError, match=r"^outgoing\.auth: graph:// signs in with OAuth"):
        make_transport(settings)
    problems = [str(p) for p in check_settings(settings) if p.setting.startswith("outgoing")]
    assert problems and problems[0].startswith("outgoing.auth:")
