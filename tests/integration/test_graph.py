"""A Microsoft Graph mailbox end to end, against the Graph simulator on loopback: the real
application polls it (delta paging), files each request once, moves it, and answers through
sendMail; throttling, an expired delta token and a poll that dies part way file nothing twice;
nothing but a move ever changes a received message."""

from __future__ import annotations

import time
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import cast

import pytest

from intake_bot.bootstrap import App, build, load_reference_data
from intake_bot.samples import DOCX, docx_form, email, new_request
from intake_bot.store import migrate
from intake_bot.store.store import Store
from intake_bot.worker import Worker
from tests.conftest import FrozenClock, make_settings
from tests.graph_sim import IMMUTABLE, TOKEN, GraphSim, Recorded, running_graph_sim
from tests.integration.worker_procs import Counter

pytestmark = pytest.mark.integration


@pytest.fixture
def sim() -> Iterator[GraphSim]:
    with running_graph_sim(max_page_size=2) as graph:  # small pages: every poll pages
        yield graph


@pytest.fixture
def stores() -> Iterator[list[Store]]:
    made: list[Store] = []
    yield made
    for store in made:
        store.dispose()


def _app(
    tmp_path: Path,
    sim: GraphSim,
    stores: list[Store],
    database_url: str = "",
    **mailbox: object,
) -> App:
    token = tmp_path / "graph-token"
    token.write_text(TOKEN + "\n")
    common = {
        "auth": "oauth2-token-file",
        "oauth2_token_file": token,
        "graph_api_url": sim.base_url,
    }
    database_url = database_url or f"sqlite:///{tmp_path / 'intake.db'}"
    settings = make_settings(
        tmp_path,
        database_url,
        mailbox={"url": f"graph://{sim.mailbox}/Inbox", "timeout_seconds": 10, **common, **mailbox},
        outgoing={"url": f"graph://{sim.mailbox}", "from_address": sim.mailbox, **common},
    )
    store = Store.from_url(database_url)
    stores.append(store)
    app = build(settings, clock=FrozenClock(), store=store)
    migrate.upgrade(store)
    load_reference_data(app)
    return app


@pytest.fixture
def counts(tmp_path: Path) -> Iterator[Counter]:
    counter = Counter(f"sqlite:///{tmp_path / 'intake.db'}")
    yield counter
    counter.close()


def requests(count: int, first: int = 0) -> list[bytes]:
    return [
        email(
            sender=f"user{i}@nhs.net",
            attachments=[(f"form-{i}.docx", DOCX, docx_form(new_request(i)))],
        )
        for i in range(first, first + count)
    ]


def _assert_nothing_but_moves_changed_mail(sim: GraphSim) -> None:
    for rec in sim.requests:
        assert rec.method in ("GET", "POST"), rec  # no PATCH (isRead…), no DELETE, ever
        assert IMMUTABLE in rec.headers.get("prefer", ""), rec
        if rec.method == "POST":
            assert rec.path.endswith(("/move", "/mailFolders", "/sendMail")), rec


def _value_reads(rec: Recorded) -> bool:
    return rec.path.endswith("/$value")


def test_one_poll_files_each_request_once_moves_it_and_answers_through_sendmail(
    tmp_path: Path, sim: GraphSim, stores: list[Store], database_url: str
) -> None:
    app = _app(tmp_path, sim, stores, database_url)
    ours = [sim.add_message(raw) for raw in requests(5)]
    theirs = [sim.add_message(email(subject=s)) for s in ("Team lunch", "RE: Invoice 4471")]

    poll, send = Worker(app).run_once()

    assert poll is not None and send is not None
    assert (poll.examined, poll.filed, poll.not_ours, poll.errors) == (7, 5, 2, 0)
    assert len(sim.calls("GET", "/messages/delta")) == 4  # seven messages, two a page
    # Moved with their ids kept: Graph gives a moved message a new id unless asked not to.
    assert sim.ids_in("Processed") == set(ours)
    assert sim.ids_in("Inbox") == set(theirs)
    counter = Counter(database_url)
    try:
        assert {r[0] for r in counter.rows("SELECT location FROM inbound_message")} == set(ours)
        outbox = {
            str(r[0]): cast("bytes", r[1])
            for r in counter.rows("SELECT message_id, raw FROM outbox")
        }
    finally:
        counter.close()
    # Every acknowledgement went out once, byte for byte as rendered: our Message-ID and
    # Auto-Submitted survive, each answering its own request.
    assert send.sent == len(sim.sent) == 5
    replies = [message_from_bytes(raw, policy=default) for raw in sim.sent]
    assert all(
        outbox[str(r["Message-ID"])] == raw for r, raw in zip(replies, sim.sent, strict=True)
    )
    assert all(r["Auto-Submitted"] == "auto-replied" for r in replies)
    assert len({str(r["In-Reply-To"]) for r in replies}) == 5
    assert sorted(str(r["To"]) for r in replies) == [f"user{i}@nhs.net" for i in range(5)]

    again, send_again = Worker(app).run_once()
    assert again is not None and (again.examined, again.filed) == (0, 0)
    assert send_again is not None and send_again.sent == 0 and len(sim.sent) == 5
    # It asked only for what changed since (the five moved away, reported removed).
    assert "$deltatoken" in sim.calls("GET", "/messages/delta")[4].query
    _assert_nothing_but_moves_changed_mail(sim)


def test_throttling_is_waited_out_as_retry_after_asks(
    tmp_path: Path, sim: GraphSim, stores: list[Store], counts: Counter
) -> None:
    app = _app(tmp_path, sim, stores)
    ours = [sim.add_message(raw) for raw in requests(3)]
    sim.fail(429, retry_after="1", when=_value_reads, after=1)  # the second message's read

    started = time.monotonic()
    poll, _ = Worker(app).run_once()

    assert time.monotonic() - started >= 1.0
    assert poll is not None and poll.filed == 3
    reads = [rec.path for rec in sim.requests if _value_reads(rec)]
    assert len(reads) == 4 and reads[1] == reads[2]  # the throttled read made again
    assert counts("SELECT count(*) FROM inbound_message") == 3
    assert sim.ids_in("Processed") == set(ours)


def test_throttling_past_the_timeout_fails_the_poll_naming_it_and_files_nothing(
    tmp_path: Path, sim: GraphSim, stores: list[Store], counts: Counter
) -> None:
    app = _app(tmp_path, sim, stores, timeout_seconds=1)
    sim.add_message(requests(1)[0])
    sim.fail(429, retry_after="30", when=lambda r: "/messages/delta" in r.path)

    started = time.monotonic()
    poll, _ = Worker(app).run_once()

    assert poll is None and time.monotonic() - started < 5
    (state,) = app.mailboxes.status()
    assert "Graph is throttling" in state.result and "timeout_seconds" in state.result
    assert counts("SELECT count(*) FROM inbound_message") == 0
    poll, _ = Worker(app).run_once()  # the next poll goes on
    assert poll is not None and poll.filed == 1


def test_an_expired_delta_token_reads_the_folder_again_and_files_nothing_twice(
    tmp_path: Path, sim: GraphSim, stores: list[Store], counts: Counter
) -> None:
    # No processed folder: what is filed stays in the Inbox, so a full read sees it again.
    app = _app(tmp_path, sim, stores, processed_folder="")
    first = [sim.add_message(raw) for raw in requests(3)]
    poll, _ = Worker(app).run_once()
    assert poll is not None and poll.filed == 3
    later = [sim.add_message(raw) for raw in requests(2, first=3)]
    sim.expire_delta_tokens()

    poll, _ = Worker(app).run_once()

    assert poll is not None and poll.examined == 5
    assert poll.filed == 2 and poll.outcomes.get("duplicate") == 3
    delta = sim.calls("GET", "/messages/delta")  # two pages for the first poll, then
    assert "$deltatoken" in delta[2].query and "$select" in delta[3].query  # 410, and anew
    assert counts("SELECT count(*) FROM inbound_message") == 5
    assert len(sim.sent) == 5 and sim.ids_in("Inbox") == set(first + later)
    poll, _ = Worker(app).run_once()  # the new delta token holds
    assert poll is not None and poll.examined == 0
    _assert_nothing_but_moves_changed_mail(sim)


def test_a_connection_dropped_mid_batch_files_nothing_twice_on_the_next_poll(
    tmp_path: Path, sim: GraphSim, stores: list[Store], counts: Counter
) -> None:
    app = _app(tmp_path, sim, stores)
    ours = [sim.add_message(raw) for raw in requests(5)]
    sim.drop(when=_value_reads, after=2)  # the third message's read

    poll, _ = Worker(app).run_once()
    assert poll is None  # the poll failed part way: two filed, nothing moved, no cursor
    assert counts("SELECT count(*) FROM inbound_message") == 2
    assert sim.ids_in("Inbox") == set(ours)

    poll, _ = Worker(app).run_once()
    assert poll is not None and poll.filed == 3 and poll.outcomes.get("duplicate") == 2
    assert counts("SELECT count(*) FROM inbound_message") == 5
    assert sim.ids_in("Processed") == set(ours)
    replies = [message_from_bytes(raw, policy=default) for raw in sim.sent]
    assert len({str(r["In-Reply-To"]) for r in replies}) == len(replies) == 5


def test_a_poll_that_dies_between_filing_and_moving_files_nothing_twice(
    tmp_path: Path, sim: GraphSim, stores: list[Store], counts: Counter
) -> None:
    app = _app(tmp_path, sim, stores)
    sim.add_message(requests(1)[0])
    poll, _ = Worker(app).run_once()  # a cursor to resume from
    assert poll is not None and poll.filed == 1
    ours = [sim.add_message(raw) for raw in requests(3, first=1)]
    sim.drop(when=lambda r: r.path.endswith("/move"))

    poll, _ = Worker(app).run_once()
    assert poll is None
    assert counts("SELECT count(*) FROM inbound_message") == 4
    assert sim.ids_in("Inbox") == set(ours)  # filed, not yet moved

    poll, _ = Worker(app).run_once()
    assert poll is not None and poll.filed == 0 and poll.outcomes.get("duplicate") == 3
    assert counts("SELECT count(*) FROM inbound_message") == 4
    assert sim.ids_in("Inbox") == set() and len(sim.ids_in("Processed")) == 4
    assert len(sim.sent) == 4
    _assert_nothing_but_moves_changed_mail(sim)
