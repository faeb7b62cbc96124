"""Migration 0004 fills the console's search column for requests filed before it, on SQLite and
PostgreSQL, and a search then finds them."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from intake_bot.domain.queue_views import RequestQuery
from intake_bot.samples import new_request
from intake_bot.store import migrate
from intake_bot.store.request_queries import browse
from intake_bot.store.store import Store

pytestmark = pytest.mark.integration
AT = "2016-03-21 09:00:00.000000"


def test_upgrade_fills_the_search_column_of_existing_requests(database_url: str) -> None:
    store = Store.from_url(database_url)
    try:
        migrate.upgrade(store, "0003")
        values = new_request(1)  # NHS Darlington CCG, 00C
        with store.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO inbound_message (id, dedupe_key, mailbox, location, sha256, size,"
                    " raw, from_addr, from_name, subject, filed_at, outcome, note) VALUES (1, 'k',"
                    " 'm', '1', :h, 1, :r, '', '', '', :at, 'filed', '')"
                ),
                {"h": "0" * 64, "r": b"x", "at": AT},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO request (id, inbound_id, source, request_type, status, queue,"
                    ' "values", problems, flags, requester_email, sender_email, created_at,'
                    " updated_at) VALUES (1, 1, 's', 'new', 'triaged', 'north/new', :v, '[]',"
                    " '[]', '', 'Sam@NHS.net', :at, :at)"
                ),
                {"v": json.dumps(values), "at": AT},
            )
        migrate.upgrade(store)
        with store.engine.connect() as conn:
            (text,) = conn.execute(sa.text("SELECT search_text FROM request")).one()
        assert "nhs darlington ccg" in text and "00c" in text and "sam@nhs.net" in text
        with store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT office FROM request")).scalar_one() == "north"
        with Session(store.engine) as session:
            query = RequestQuery(statuses=("triaged",), offices=("north",), text="Darlington")
            found, total = browse(session, query)
        assert total == 1 and found[0].id == 1
    finally:
        store.dispose()


def test_downgrade_to_0003_drops_the_column_and_the_index(database_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    store = Store.from_url(database_url)
    try:
        migrate.upgrade(store)
        cfg = Config()
        cfg.set_main_option("script_location", str(migrate.MIGRATIONS))
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0003")
        columns = {c["name"] for c in sa.inspect(store.engine).get_columns("request")}
        indexes = {i["name"] for i in sa.inspect(store.engine).get_indexes("request")}
        assert "search_text" not in columns and "office" not in columns
        assert "ix_request_status_queue_due" not in indexes and "ix_request_search" not in indexes
    finally:
        store.dispose()


def test_a_request_with_huge_values_is_still_filed_and_found(app: object) -> None:
    """The search column is cut, so a hostile form cannot overflow its index."""
    from intake_bot.bootstrap import App
    from intake_bot.ports import MessageRef
    from intake_bot.samples import DOCX, docx_form, email

    assert isinstance(app, App)
    values = new_request(0, commissioner_name="NHS Leeds " + "x" * 20_000)
    raw = email(attachments=[("form.docx", DOCX, docx_form(values))])
    result = app.intake.ingest(raw, MessageRef("test", "huge"))
    assert result.inbound_id is not None
    page = app.queues.browse(RequestQuery(statuses=(), text="nhs leeds"))
    assert page.total == len(result.references) == 1
