"""The hourly limit of automatic replies counts the emails answered, not the replies, on SQLite
and PostgreSQL: a bulk sheet's requests are each acknowledged and count once."""

from __future__ import annotations

import uuid

import pytest

from intake_bot.bootstrap import App
from intake_bot.ports import MessageRef
from intake_bot.samples import XLSX, email, new_request, xlsx_bulk

pytestmark = pytest.mark.integration


def _ingest(app: App, raw: bytes) -> int:
    return len(app.intake.ingest(raw, MessageRef("INBOX", uuid.uuid4().hex)).references)


def _counts(app: App) -> tuple[int, int]:
    with app.store.unit() as unit:
        replies = len(unit.outbox.for_())
        suppressed = [e for e in unit.events.for_() if e.action == "reply_suppressed"]
        return replies, len(suppressed)


def test_a_bulk_sheet_counts_once_and_past_the_limit_no_request_of_an_email_is_answered(
    app: App,
) -> None:
    limit = app.settings.outgoing.replies_per_sender_per_hour
    sheet = xlsx_bulk([new_request(i % 4) for i in range(limit + 2)])
    assert _ingest(app, email(attachments=[("bulk.xlsx", XLSX, sheet)])) == limit + 2
    assert _counts(app) == (limit + 2, 0)  # every request acknowledged
    for _ in range(limit - 1):
        _ingest(app, email(body="How do I ask for a relationship?\n"))
    assert _counts(app) == (2 * limit + 1, 0)  # `limit` emails answered
    assert _ingest(app, email(attachments=[("bulk.xlsx", XLSX, sheet)])) == limit + 2
    assert _counts(app) == (2 * limit + 1, limit + 2)  # none of this one's, each recorded
