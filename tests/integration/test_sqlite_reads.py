"""On SQLite the queue listing is read with the standard library's driver (`store/sqlite_reads.py`):
it must read exactly what the store's repositories read."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from intake_bot.bootstrap import App
from intake_bot.domain.status import OPEN
from intake_bot.ports import MessageRef
from intake_bot.samples import DOCX, docx_form, email, new_request
from intake_bot.services.queues import Queues
from tests.register_cases import review_items

pytestmark = pytest.mark.integration


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'intake.db'}"


def _file_some_mail(app: App) -> None:
    forms = [new_request(i) for i in range(3)] + [new_request(3, contract_signed_date="")]
    for values in forms:
        raw = email(attachments=[("form.docx", DOCX, docx_form(values))])
        app.intake.ingest(raw, MessageRef("INBOX", uuid.uuid4().hex))
    question = email(body="How do we add a CSU to our relationship?\n", attachments=[])
    app.intake.ingest(question, MessageRef("INBOX", uuid.uuid4().hex))


def _plain(records: list[Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in asdict(r).items() if k != "raw"} for r in records]


def test_the_listing_is_read_without_the_orm_and_is_the_same(app: App) -> None:
    _file_some_mail(app)
    review_items(app, ("open", "ended", "open"))
    through_store = Queues(store=app.store, clock=app.clock, offices=app.settings.dscro)
    with app.queues.reads() as reads:
        assert type(reads).__module__ == "intake_bot.store.sqlite_reads"
    light, full = app.queues.items(), through_store.items()
    assert len(light.items) == 5 and light.reviews_waiting == 2
    assert light == full
    for name in ("north", "enquiries", "north/new"):
        assert app.queues.items(name) == through_store.items(name)


def test_each_read_gives_the_records_the_repositories_give(app: App) -> None:
    _file_some_mail(app)
    review_items(app, ("open", "ended", "open"))
    statuses = sorted(s.value for s in OPEN)
    with app.queues.reads() as light, app.store.unit() as unit:
        assert light.requests.queue_counts(statuses) == unit.requests.queue_counts(statuses)
        assert _plain(light.requests.matching(statuses=statuses)) == _plain(
            unit.requests.matching(statuses=statuses)
        )
        assert _plain(light.reference.approvals()) == _plain(unit.reference.approvals())
        for status in ("open", "carried", "ended", "withdrawn"):
            counted = light.organisations.count_reviews(status)
            assert counted == unit.organisations.count_reviews(status)
        for queue, _count in unit.requests.queue_counts(statuses):
            assert _plain(light.messages.in_queue(queue)) == _plain(unit.messages.in_queue(queue))
