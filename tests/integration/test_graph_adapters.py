"""The Graph mailbox and sendMail transport on their own, against the Graph simulator over
loopback HTTP: folders, vanished and oversized messages, idempotent moves, refused tokens,
dropped connections and throttling while sending."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from intake_bot.mail.graph import GraphMailbox
from intake_bot.mail.graph_send import GraphTransport
from intake_bot.mail.tokens import CredentialsError, StaticToken, TokenProvider
from intake_bot.ports import MailboxError, SendError, Settlement
from intake_bot.samples import email
from tests.graph_sim import TOKEN, GraphSim, running_graph_sim


@pytest.fixture
def sim() -> Iterator[GraphSim]:
    with running_graph_sim() as graph:
        yield graph


def _box(
    sim: GraphSim, folder: str = "Inbox", tokens: TokenProvider | None = None, **options: Any
) -> GraphMailbox:
    tokens = tokens or StaticToken(TOKEN)
    return GraphMailbox(
        mailbox=sim.mailbox,
        folder=folder,
        tokens=tokens,
        api_url=sim.base_url,
        name="box",
        timeout=5,
        **options,
    )


class Renewing:
    """A provider holding a stale token until the server refuses it."""

    name = "outgoing"

    def __init__(self) -> None:
        self.current = "stale"

    def token(self) -> str:
        return self.current

    def invalidate(self) -> None:
        self.current = TOKEN

    def fingerprint(self) -> str:
        return "test"


class Revoked:
    name = "mailbox"

    def token(self) -> str:
        raise CredentialsError("mailbox: the sign-in was revoked", permanent=True, fix="sign in")

    def invalidate(self) -> None: ...

    def fingerprint(self) -> str:
        return "revoked"


def test_a_sub_folder_is_read_by_its_path_and_a_missing_one_named(sim: GraphSim) -> None:
    sim.add_folder("Requests", parent="Inbox")
    wanted = sim.add_message(email(subject="in the sub-folder"), folder="Requests")
    sim.add_message(email(subject="in the Inbox"))
    changes = _box(sim, "Inbox/Requests").changes(None)
    assert [c.ref.key for c in changes.candidates] == [wanted]
    with pytest.raises(MailboxError, match="the folder 'Inbox/Nowhere' does not exist"):
        _box(sim, "Inbox/Nowhere").changes(None)


def test_a_cursor_from_another_folder_is_not_used_here(sim: GraphSim) -> None:
    sim.add_folder("Other")
    inbox = sim.add_message(email())
    other = _box(sim, "Other").changes(None)
    changes = _box(sim).changes(other.cursor)
    assert [c.ref.key for c in changes.candidates] == [inbox]
    assert "$deltatoken" not in sim.calls("GET", "/messages/delta")[-1].query


def test_a_message_gone_before_it_is_read_is_skipped(sim: GraphSim) -> None:
    keys = [sim.add_message(email(subject=f"m{i}")) for i in range(3)]
    box = _box(sim)
    refs = [c.ref for c in box.changes(None).candidates]
    sim.delete(keys[1])
    assert [ref.key for ref, _ in box.fetch(refs)] == [keys[0], keys[2]]


def test_a_message_over_the_limit_is_cut_there_and_the_cut_logged(
    sim: GraphSim, caplog: pytest.LogCaptureFixture
) -> None:
    raw = email(body="x" * 50_000)
    key = sim.add_message(raw)
    box = _box(sim, message_limit=10_000)
    ((_, got),) = list(box.fetch([c.ref for c in box.changes(None).candidates]))
    assert got == raw[:10_000]
    assert any("over 10000 bytes" in r.getMessage() for r in caplog.records)
    assert key in caplog.text and "x" * 20 not in caplog.text


def test_quarantine_creates_its_folder_moves_are_idempotent_and_others_untouched(
    sim: GraphSim,
) -> None:
    bad, other = sim.add_message(email(subject="bad")), sim.add_message(email(subject="lunch"))
    box = _box(sim)
    refs = {c.ref.key: c.ref for c in box.changes(None).candidates}
    before = len(sim.requests)
    box.settle([refs[other]], Settlement.NOT_OURS)
    assert len(sim.requests) == before  # nothing asked, nothing changed
    box.settle([refs[bad]], Settlement.QUARANTINED)
    box.settle([refs[bad]], Settlement.QUARANTINED)  # a replay: already moved (404), done
    assert sim.ids_in("Quarantine") == {bad} and sim.ids_in("Inbox") == {other}
    assert len(sim.calls("POST", "/mailFolders")) == 1
    assert {r.method for r in sim.requests} == {"GET", "POST"}


def test_the_simulator_gives_a_moved_message_a_new_id_unless_asked_for_immutable_ids(
    sim: GraphSim,
) -> None:
    key = sim.add_message(email())
    inbox = sim.folder("Inbox").id
    moved = httpx.post(
        f"{sim.base_url}/users/{sim.mailbox}/messages/{key}/move",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={"destinationId": inbox},
    )
    assert moved.status_code == 201 and moved.json()["id"] != key  # so the tests above prove it


def test_a_revoked_sign_in_stops_the_poll_before_any_request(sim: GraphSim) -> None:
    with pytest.raises(CredentialsError, match="revoked: sign in") as caught:
        _box(sim, tokens=Revoked()).changes(None)
    assert caught.value.permanent and sim.requests == []


def test_a_token_the_service_refuses_is_renewed_once_then_reported(sim: GraphSim) -> None:
    sim.add_message(email())
    with pytest.raises(CredentialsError, match="refused the access token even after renewing"):
        _box(sim, tokens=StaticToken("wrong")).changes(None)
    assert len(sim.requests) == 2
    assert len(_box(sim, tokens=Renewing()).changes(None).candidates) == 1


def _transport(
    sim: GraphSim, tokens: TokenProvider | None = None, **options: Any
) -> GraphTransport:
    tokens = tokens or StaticToken(TOKEN)
    return GraphTransport(mailbox=sim.mailbox, tokens=tokens, api_url=sim.base_url, **options)


def _send(transport: GraphTransport, raw: bytes) -> None:
    transport.send(sender="a@nhs.net", recipients=["b@nhs.net"], raw=raw, message_id="<m@x>")


def test_sendmail_renews_a_refused_token_and_keeps_the_mime_as_given(sim: GraphSim) -> None:
    raw = email(to="b@nhs.net", headers={"Auto-Submitted": "auto-replied"})
    _send(_transport(sim, tokens=Renewing()), raw)
    assert sim.sent == [raw]
    assert [r.headers["authorization"] for r in sim.requests] == [
        "Bearer stale",
        f"Bearer {TOKEN}",
    ]


def test_sendmail_dropped_or_throttled_past_the_timeout_is_tried_again_later(
    sim: GraphSim, caplog: pytest.LogCaptureFixture
) -> None:
    raw = email(to="b@nhs.net")
    transport = _transport(sim, timeout=2)
    sim.drop()
    with pytest.raises(SendError) as dropped:
        _send(transport, raw)
    sim.fail(503, retry_after="10")
    with pytest.raises(SendError, match="throttling") as throttled:
        _send(transport, raw)
    assert not dropped.value.permanent and not throttled.value.permanent
    assert sim.sent == []
    caplog.set_level(logging.INFO)
    _send(transport, raw)  # the connection is made again
    assert sim.sent == [raw]
    assert TOKEN not in caplog.text


def test_a_delta_query_refused_even_when_new_fails_the_poll(sim: GraphSim) -> None:
    sim.add_message(email())
    box = _box(sim)
    cursor = box.changes(None).cursor
    sim.fail(410, retry_after=None, when=lambda r: "/messages/delta" in r.path, times=2)
    with pytest.raises(MailboxError, match=r"refused even a new delta query"):
        box.changes(cursor)
    delta = sim.calls("GET", "/messages/delta")
    assert "$deltatoken" in delta[-2].query and "$select" in delta[-1].query
