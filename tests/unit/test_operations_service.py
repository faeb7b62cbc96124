"""`status` and `health` on the fakes: overdue mailboxes, an unreachable database, the
quarantine and its patient-data holds, the outbox's last errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import cast

from intake_bot.config import MailboxSettings
from intake_bot.domain.records import InboundMessage, Outbox
from intake_bot.ports import MailSource, StoreUnavailableError
from intake_bot.services.mailboxes import Mailboxes
from intake_bot.services.operations import Operations
from intake_bot.services.outbox import OutboxAdmin
from tests.fakes import FakeStore, FakeUnit
from tests.fakes.intake import Rig, make_rig


def _operations(rig: Rig, store: FakeStore | None = None) -> Operations:
    store = store or rig.store
    intake = rig.intake
    intake.store = store
    boxes = [MailboxSettings(name="a", poll_interval_seconds=60), MailboxSettings(name="b")]
    never_opened = cast("Callable[[MailboxSettings], MailSource]", lambda b: None)  # no poll here
    mailboxes = Mailboxes(
        intake=intake, clock=rig.clock, worker_id="me", boxes=boxes, open_source=never_opened
    )
    return Operations(
        store=store,
        clock=rig.clock,
        mailboxes=mailboxes,
        outbox=OutboxAdmin(store=store, clock=rig.clock),
    )


def _polled(rig: Rig, name: str, ago: timedelta) -> None:
    with rig.store.unit() as unit:
        unit.polling.record_poll(name, rig.clock() - ago, True, "0 new")


def test_healthy_only_when_every_mailbox_was_polled_within_three_intervals() -> None:
    rig = make_rig()
    ops = _operations(rig)
    assert ops.health().problems == ("mailbox a: never polled", "mailbox b: never polled")

    _polled(rig, "a", timedelta(seconds=179))  # just within 3 x 60 s
    _polled(rig, "b", timedelta(seconds=10))
    assert ops.health().ok

    rig.clock.now += timedelta(seconds=2)
    assert ops.health().problems == ("mailbox a: last polled 181 s ago",)


class _DownStore(FakeStore):
    @contextmanager
    def unit(self) -> Iterator[FakeUnit]:
        raise StoreUnavailableError("connection refused")
        yield  # pragma: no cover


def test_an_unreachable_database_is_unhealthy_not_a_crash() -> None:
    rig = make_rig()
    health = _operations(rig, _DownStore()).health()
    assert not health.ok and health.problems == ("database: connection refused",)


def test_status_counts_the_quarantine_its_patient_data_holds_and_the_outbox() -> None:
    rig = make_rig()
    now = rig.clock()
    for i, note in enumerate(["failed 3 times", "Patient data: an NHS number in the body", ""]):
        rig.store.memory.add(
            InboundMessage(
                f"<{i}@x>", "a", str(i), "0" * 64, 1, b"x", now, "quarantined",
                queue="quarantine" if note else None, note=note or "patient data, reviewed",
            )
        )  # fmt: skip
    rig.store.memory.add(
        Outbox(
            "<o@x>", "ack_valid", "us@x", "s", b"raw", now, now,
            recipients=["them@x"], status="failed", attempts=1,
            last_error="<o@x>: refused: 550 5.1.1 no such user",
        )
    )  # fmt: skip

    status = _operations(rig).status()

    assert (status.quarantine, status.patient_data_holds, status.backlog) == (2, 1, 2)
    assert status.outbox["failed"] == 1
    (failure,) = status.outbox_failures
    assert "550 5.1.1" in failure.last_error and failure.recipients == ("them@x",)
    assert [m.name for m in status.mailboxes] == ["a", "b"]


def test_metrics_count_messages_by_outcome_queues_outbox_and_polls() -> None:
    from intake_bot.samples import DOCX, docx_form, email, new_request

    rig = make_rig()
    ops = _operations(rig)
    rig.ingest(email(attachments=[("form.docx", DOCX, docx_form(new_request(0)))]))
    _polled(rig, "a", timedelta(seconds=30))
    m = ops.metrics()
    assert m.messages == {"filed": 1}
    assert sum(m.queues.values()) == 1 and m.outbox == {"pending": 1}
    (a,) = [box for box in m.mailboxes if box.name == "a"]
    assert a.last is not None and (m.now - a.last.polled_at) == timedelta(seconds=30)
