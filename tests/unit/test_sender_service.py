"""The sender and the outbox admin on the in-memory fakes: sent, retried with back-off, given up,
and what staff see of it."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from intake_bot.domain.records import Outbox
from intake_bot.ports import CredentialsError, SendError
from intake_bot.services.outbox import OutboxAdmin
from intake_bot.services.sending import Sender
from tests.fakes import FakeStore
from tests.fakes.intake import Clock


@dataclass
class Transport:
    """Accepts everything, except what `refuse` says: a SendError (permanent or not)."""

    refuse: dict[str, SendError | CredentialsError] = field(default_factory=dict)
    sent: list[str] = field(default_factory=list)

    def send(self, *, sender: str, recipients: Sequence[str], raw: bytes, message_id: str) -> None:
        if message_id in self.refuse:
            raise self.refuse[message_id]
        self.sent.append(message_id)

    def close(self) -> None:
        return None


def _queued(store: FakeStore, clock: Clock, n: int) -> list[Outbox]:
    return [
        store.memory.add(
            Outbox(
                message_id=f"<{i}@test>",
                kind="ack_valid",
                sender="dsfc@example.nhs.uk",
                subject=f"email {i}",
                raw=b"raw",
                next_attempt_at=clock.now,
                created_at=clock.now,
                recipients=[f"person{i}@nhs.net"],
                request_id=i,
            )
        )
        for i in range(1, n + 1)
    ]


def _sender(store: FakeStore, clock: Clock, transport: Transport) -> Sender:
    return Sender(
        store=store, transport=transport, clock=clock, backoff=timedelta(seconds=60), max_attempts=3
    )


def test_due_emails_are_sent_and_marked_sent() -> None:
    store, clock, transport = FakeStore(), Clock(), Transport()
    rows = _queued(store, clock, 3)
    report = _sender(store, clock, transport).send_due()
    assert report.sent == 3 and transport.sent == ["<1@test>", "<2@test>", "<3@test>"]
    assert {r.status for r in rows} == {"sent"} and rows[0].sent_at == clock.now


def test_a_temporary_failure_backs_off_and_hands_the_rest_back_untouched() -> None:
    store, clock = FakeStore(), Clock()
    transport = Transport(refuse={"<1@test>": SendError("421 try later")})
    first, second = _queued(store, clock, 2)
    sender = _sender(store, clock, transport)
    report = sender.send_due()
    assert report.deferred == 1 and report.sent == 0 and transport.sent == []
    assert first.status == "pending" and first.attempts == 1 and first.last_error == "421 try later"
    assert first.next_attempt_at == clock.now + timedelta(seconds=60)
    assert second.status == "pending" and second.attempts == 0  # released, due now
    assert second.next_attempt_at == clock.now
    clock.now += timedelta(seconds=30)
    assert sender.send_due().sent == 1  # the second; the first waits for its back-off
    transport.refuse.clear()
    clock.now += timedelta(seconds=31)
    assert sender.send_due().sent == 1 and first.status == "sent"


def test_the_back_off_doubles_and_the_sender_gives_up_after_max_attempts() -> None:
    store, clock = FakeStore(), Clock()
    transport = Transport(refuse={"<1@test>": SendError("421 busy")})
    (row,) = _queued(store, clock, 1)
    sender = _sender(store, clock, transport)
    waits = []
    for _ in range(3):
        before = clock.now
        sender.send_due()
        waits.append(row.next_attempt_at - before)
        clock.now = row.next_attempt_at
    assert waits[:2] == [timedelta(seconds=60), timedelta(seconds=120)]
    assert row.status == "failed" and row.attempts == 3


def test_failed_credentials_hand_everything_back_and_count_no_attempt() -> None:
    store, clock = FakeStore(), Clock()
    refused = CredentialsError("outgoing: the token was refused", permanent=True, fix="sign in")
    transport = Transport(refuse={"<2@test>": refused})
    first, second, third = _queued(store, clock, 3)
    with pytest.raises(CredentialsError):
        _sender(store, clock, transport).send_due()
    assert first.status == "sent"
    for row in (second, third):  # not the emails' fault: due now, no attempt, no error
        assert row.status == "pending" and row.attempts == 0 and not row.last_error
        assert row.next_attempt_at == clock.now


def test_a_permanent_failure_gives_up_at_once_and_the_next_email_still_goes() -> None:
    store, clock = FakeStore(), Clock()
    transport = Transport(refuse={"<1@test>": SendError("550 no such user", permanent=True)})
    first, second = _queued(store, clock, 2)
    report = _sender(store, clock, transport).send_due()
    assert report.failed == 1 and report.sent == 1
    assert first.status == "failed" and first.attempts == 1 and second.status == "sent"


def test_outbox_status_shows_counts_and_the_last_error_of_each_failure() -> None:
    store, clock = FakeStore(), Clock()
    transport = Transport(
        refuse={
            "<1@test>": SendError("550 5.1.1 no such user", permanent=True),
            "<3@test>": SendError("421 try later"),
        }
    )
    _queued(store, clock, 3)
    _sender(store, clock, transport).send_due()
    status = OutboxAdmin(store=store, clock=clock).status()
    assert status.counts == {"pending": 1, "sending": 0, "sent": 1, "failed": 1}
    newest, oldest = status.failures
    assert (newest.outbox_id, newest.status, newest.last_error) == (3, "pending", "421 try later")
    assert newest.next_attempt_at == clock.now + timedelta(seconds=60)
    assert (oldest.status, oldest.last_error, oldest.request) == (
        "failed",
        "550 5.1.1 no such user",
        "LR-000001",
    )
    assert oldest.recipients == ("person1@nhs.net",) and oldest.next_attempt_at is None


def test_outbox_retry_puts_failed_emails_back_due_now() -> None:
    store, clock = FakeStore(), Clock()
    transport = Transport(refuse={"<1@test>": SendError("550 refused", permanent=True)})
    (row,) = _queued(store, clock, 1)
    _sender(store, clock, transport).send_due()
    admin = OutboxAdmin(store=store, clock=clock)
    clock.now += timedelta(hours=1)
    assert admin.retry() == 1
    assert row.status == "pending" and row.attempts == 0 and row.next_attempt_at == clock.now
    transport.refuse.clear()
    assert _sender(store, clock, transport).send_due().sent == 1
    assert admin.status().failures == ()  # sent: its old error is no longer shown


@dataclass
class SlowTransport:
    """Every send takes the whole `send_limit` on the fake clock; records whether each one
    ended while its row's claim still held."""

    store: FakeStore
    clock: Clock
    takes: timedelta
    ended_within_claim: list[bool] = field(default_factory=list)

    def send(self, *, sender: str, recipients: Sequence[str], raw: bytes, message_id: str) -> None:
        (row,) = [r for r in self.store.memory.all(Outbox) if r.message_id == message_id]
        self.clock.now += self.takes
        self.ended_within_claim.append(self.clock.now <= row.next_attempt_at)

    def close(self) -> None:
        return None


def test_no_send_outlasts_its_claim_however_slow_the_server() -> None:
    store, clock = FakeStore(), Clock()
    rows = _queued(store, clock, 12)
    transport = SlowTransport(store, clock, timedelta(seconds=60))
    sender = Sender(
        store=store,
        transport=transport,
        clock=clock,
        claim_for=timedelta(seconds=300),
        send_limit=timedelta(seconds=60),
    )
    report = sender.send_due()
    assert report.sent == 12 and {r.status for r in rows} == {"sent"}
    assert transport.ended_within_claim == [True] * 12


def test_a_claim_too_short_for_one_send_is_refused() -> None:
    with pytest.raises(ValueError, match="claim"):
        Sender(
            store=FakeStore(),
            transport=Transport(),
            clock=Clock(),
            claim_for=timedelta(seconds=60),
            send_limit=timedelta(seconds=60),
        )


def test_one_run_drains_the_outbox_batch_after_batch_with_no_cap_unless_asked() -> None:
    store, clock, transport = FakeStore(), Clock(), Transport()
    rows = _queued(store, clock, 125)
    sender = _sender(store, clock, transport)
    sender.batch = 10
    assert sender.send_due(limit=15).sent == 20  # a limit stops the run between batches
    assert sender.send_due().sent == 105  # eleven more batches in the one run
    assert {r.status for r in rows} == {"sent"} and len(transport.sent) == 125
    # No cap by default (a run once stopped at 10,000, leaving the rest for the next tick).
    assert inspect.signature(Sender.send_due).parameters["limit"].default is None
