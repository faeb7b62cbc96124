"""The Alembic migrations build exactly the schema the tables describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from intake_bot.store import migrate
from intake_bot.store.store import Store

pytestmark = pytest.mark.integration


def test_upgrade_from_empty_matches_the_models(database_url: str) -> None:
    store = Store.from_url(database_url)
    try:
        migrate.upgrade(store)
        assert migrate.current_revision(store) == migrate.head_revision()
        with store.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        assert diff == [], f"the models differ from the migrations: {diff}"
        migrate.upgrade(store)  # running it again changes nothing
    finally:
        store.dispose()


def test_the_newest_migration_goes_down_and_up_again_to_the_models(database_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    store = Store.from_url(database_url)
    try:
        migrate.upgrade(store)
        cfg = Config()
        cfg.set_main_option("script_location", str(migrate.MIGRATIONS))
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "-1")
        assert migrate.current_revision(store) != migrate.head_revision()
        migrate.upgrade(store)
        with store.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        assert diff == [], f"the models differ from the migrations: {diff}"
    finally:
        store.dispose()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # SQLite has no such setting
def test_on_postgresql_the_bytes_columns_are_stored_without_compression(database_url: str) -> None:
    """pglz spends the server's time on base64 and zip data it cannot shrink (migration 0007)."""
    from sqlalchemy import text

    store = Store.from_url(database_url)
    try:
        migrate.upgrade(store)
        query = text(
            "SELECT c.relname, a.attname, a.attstorage FROM pg_attribute a"
            " JOIN pg_class c ON c.oid = a.attrelid"
            " WHERE (c.relname, a.attname) IN"
            " (('inbound_message', 'raw'), ('attachment', 'data'), ('outbox', 'raw'))"
        )
        with store.engine.connect() as conn:
            storage = {(t, c): s for t, c, s in conn.execute(query)}
        assert storage == {
            ("inbound_message", "raw"): "e",
            ("attachment", "data"): "e",
            ("outbox", "raw"): "e",
        }
    finally:
        store.dispose()
