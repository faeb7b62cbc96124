"""An email's link to the first request filed from it is written at once (a Core UPDATE, not
the unit of work's flush): on SQLite and PostgreSQL it is in the database after the poll, and a
unit that rolls back leaves it as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from intake_bot.bootstrap import App
from intake_bot.mail.maildir import deliver
from intake_bot.samples import DOCX, XLSX, docx_form, email, new_request, xlsx_bulk
from intake_bot.store.store import Store
from intake_bot.worker import Worker

pytestmark = pytest.mark.integration


def _links(app: App) -> list[tuple[int, int | None, int | None]]:
    """(message id, its request_id, the lowest request id filed from it) for every message."""
    store = app.store
    assert isinstance(store, Store)
    with store.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT m.id, m.request_id, (SELECT min(r.id) FROM request r"
                " WHERE r.inbound_id = m.id) FROM inbound_message m ORDER BY m.id"
            )
        )
        return [(a, b, c) for a, b, c in rows]


def test_each_filed_email_points_at_its_first_request(app: App, tmp_path: Path) -> None:
    mail = tmp_path / "mail"
    deliver(mail, email(attachments=[("a.docx", DOCX, docx_form(new_request(1)))]))
    bulk = xlsx_bulk([new_request(10 + i) for i in range(3)])
    deliver(mail, email(attachments=[("bulk.xlsx", XLSX, bulk)]))
    deliver(mail, email(body="How do I add a CSU?\n"))  # an enquiry: no request

    Worker(app).poll()

    links = _links(app)
    assert len(links) == 3
    filed = [(m, linked, first) for m, linked, first in links if first is not None]
    assert len(filed) == 2 and all(linked == first for _, linked, first in filed)
    assert [linked for _, linked, first in links if first is None] == [None]
    with app.store.unit() as unit:  # a fresh session reads what was written
        for message_id, linked, _ in filed:
            found = unit.messages.get(message_id)
            assert found is not None and found.request_id == linked


def test_a_link_in_a_unit_that_rolls_back_is_not_kept(app: App, tmp_path: Path) -> None:
    deliver(tmp_path / "mail", email(attachments=[("a.docx", DOCX, docx_form(new_request(1)))]))
    Worker(app).poll()
    ((message_id, linked, _),) = _links(app)
    assert linked is not None

    with pytest.raises(RuntimeError), app.store.unit() as unit:
        found = unit.messages.get(message_id)
        assert found is not None
        unit.messages.link_request(found, linked + 1000)
        assert found.request_id == linked + 1000
        raise RuntimeError("the unit fails after the link")

    assert _links(app) == [(message_id, linked, linked)]
    with app.store.unit() as unit:
        found = unit.messages.get(message_id)
        assert found is not None and found.request_id == linked
