"""Migration 0002 carries filed messages, attempts and cursors over to opaque locations and back,
on SQLite and PostgreSQL, and leaves the schema the models describe."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from intake_bot.store import migrate
from intake_bot.store.store import Store

pytestmark = pytest.mark.integration

IMAP = "imap://intake@mail.example:993/INBOX"
MAILDIR = "maildir:/srv/mail"
MAILDIR_KEY = "1458550800.M1P2Q3.host"
AT = "2016-03-21 09:00:00.000000"


def _inbound(row_id: int, mailbox: str, uidvalidity: int, uid: str) -> dict[str, object]:
    return {
        "id": row_id,
        "dedupe_key": f"<m{row_id}@example>",
        "mailbox": mailbox,
        "uidvalidity": uidvalidity,
        "uid": uid,
        "sha256": "0" * 64,
        "size": 3,
        "raw": b"raw",
        "from_addr": "",
        "from_name": "",
        "subject": "",
        "filed_at": AT,
        "outcome": "filed",
        "note": "",
    }


def _rows(store: Store, sql: str) -> list[tuple[object, ...]]:
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(sql))]


def _downgrade(store: Store, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrate.MIGRATIONS))
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


@pytest.fixture
def store_at_0001(database_url: str) -> Iterator[Store]:
    """A database at 0001 holding an IMAP and a Maildir message, an attachment, attempts and an
    IMAP cursor, as the earlier release left them."""
    store = Store.from_url(database_url)
    migrate.upgrade(store, "0001")
    inbound = sa.text(
        "INSERT INTO inbound_message (id, dedupe_key, mailbox, uidvalidity, uid, sha256, size,"
        " raw, from_addr, from_name, subject, filed_at, outcome, note) VALUES (:id, :dedupe_key,"
        " :mailbox, :uidvalidity, :uid, :sha256, :size, :raw, :from_addr, :from_name, :subject,"
        " :filed_at, :outcome, :note)"
    )
    with store.engine.begin() as conn:
        conn.execute(inbound, [_inbound(1, IMAP, 1700, "42"), _inbound(2, MAILDIR, 0, MAILDIR_KEY)])
        conn.execute(
            sa.text(
                "INSERT INTO attachment (id, inbound_id, filename, content_type, size, sha256,"
                " data, outcome, note) VALUES (1, 1, 'f.docx', 'x', 1, :h, :d, 'form', '')"
            ),
            {"h": "0" * 64, "d": b"x"},
        )
        conn.execute(
            sa.text(
                "INSERT INTO processing_attempt (mailbox, uidvalidity, uid, attempts, last_error,"
                " updated_at) VALUES (:m, :v, :u, 2, 'ValueError: x', :at)"
            ),
            [
                {"m": IMAP, "v": 1700, "u": "43", "at": AT},
                {"m": MAILDIR, "v": 0, "u": "k", "at": AT},
            ],
        )
        conn.execute(
            sa.text(
                "INSERT INTO mailbox_cursor (mailbox, uidvalidity, last_uid, updated_at)"
                " VALUES (:m, 1700, 43, :at)"
            ),
            {"m": IMAP, "at": AT},
        )
    yield store
    store.dispose()


def test_upgrade_gives_imap_rows_uidvalidity_uid_keys_and_keeps_maildir_keys(
    store_at_0001: Store,
) -> None:
    store = store_at_0001
    migrate.upgrade(store, "0002")

    assert _rows(store, "SELECT id, mailbox, location FROM inbound_message ORDER BY id") == [
        (1, IMAP, "1700:42"),
        (2, MAILDIR, MAILDIR_KEY),
    ]
    assert _rows(store, "SELECT inbound_id FROM attachment") == [(1,)]
    assert sorted(_rows(store, "SELECT mailbox, location, attempts FROM processing_attempt")) == [
        (IMAP, "1700:43", 2),
        (MAILDIR, "k", 2),
    ]
    assert _rows(store, "SELECT mailbox, cursor, poll_ok, poll_detail FROM mailbox_cursor") == [
        (IMAP, "1700:43", None, "")
    ]


def test_after_the_upgrade_a_location_is_filed_once_and_attachments_keep_their_message(
    store_at_0001: Store,
) -> None:
    store = store_at_0001
    migrate.upgrade(store, "0002")
    insert = sa.text(
        "INSERT INTO inbound_message (id, dedupe_key, mailbox, location, sha256, size, raw,"
        " from_addr, from_name, subject, filed_at, outcome, note) VALUES (:id, :k, :m, :l, :h, 1,"
        " :r, '', '', '', :at, 'filed', '')"
    )
    again = {
        "id": 10,
        "k": "<other@example>",
        "m": IMAP,
        "l": "1700:42",
        "h": "0" * 64,
        "r": b"x",
        "at": AT,
    }
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
        conn.execute(insert, again)
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM inbound_message WHERE id = 1"))  # its attachment
    with store.engine.begin() as conn:
        conn.execute(insert, {**again, "l": "1700:44"})  # another location is fine


def test_downgrade_gives_the_old_columns_back(store_at_0001: Store) -> None:
    store = store_at_0001
    migrate.upgrade(store, "0002")

    _downgrade(store, "0001")

    assert _rows(
        store, "SELECT id, mailbox, uidvalidity, uid FROM inbound_message ORDER BY id"
    ) == [(1, IMAP, 1700, "42"), (2, MAILDIR, 0, MAILDIR_KEY)]
    assert sorted(_rows(store, "SELECT mailbox, uidvalidity, uid FROM processing_attempt")) == [
        (IMAP, 1700, "43"),
        (MAILDIR, 0, "k"),
    ]
    assert _rows(store, "SELECT mailbox, uidvalidity, last_uid FROM mailbox_cursor") == [
        (IMAP, 1700, 43)
    ]
    assert _rows(store, "SELECT inbound_id FROM attachment") == [(1,)]


def test_up_down_and_up_again_ends_with_the_schema_of_the_models(store_at_0001: Store) -> None:
    store = store_at_0001
    migrate.upgrade(store, "0002")
    _downgrade(store, "0001")
    migrate.upgrade(store)

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == [], f"the models differ from the migrations: {diff}"
    assert _rows(store, "SELECT location FROM inbound_message ORDER BY id") == [
        ("1700:42",),
        (MAILDIR_KEY,),
    ]
