"""PostgreSQL's pool pings a connection before use only when it sat idle (store.make_engine):
no round trip for each email filed, a dead idle connection still replaced unseen, and one that
died a moment after use costs one unit a StoreUnavailableError, after which the next works."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from intake_bot.ports import StoreUnavailableError
from intake_bot.store import store as store_module
from intake_bot.store.store import Store
from tests.servers import (
    ADMIN_POSTGRES_URL,
    postgres_reachable,
    require,
    temporary_postgres_database,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def pg() -> Iterator[tuple[Store, str, list[int]]]:
    reachable, reason = postgres_reachable()
    require(reachable, reason)
    with temporary_postgres_database() as url:
        store = Store.from_url(url)
        store.create_all()
        pings: list[int] = []
        dialect = store.engine.dialect
        real_ping = dialect.do_ping

        def counted(dbapi_conn):  # type: ignore[no-untyped-def]
            pings.append(1)
            return real_ping(dbapi_conn)

        dialect.do_ping = counted  # type: ignore[method-assign]
        try:
            yield store, url, pings
        finally:
            store.dispose()


def _use(store: Store) -> None:
    with store.unit() as unit:
        assert unit.events.for_(request_id=1) == []


def _end_connections(url: str) -> None:
    import psycopg

    admin = "postgresql://" + ADMIN_POSTGRES_URL.split("://", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (urlsplit(url).path.lstrip("/"),),
        )


def test_a_connection_back_a_moment_ago_is_not_pinged(pg, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    store, _, pings = pg
    monkeypatch.setattr(store_module, "PING_AFTER_IDLE_SECONDS", 60.0)
    for _ in range(20):
        _use(store)
    assert pings == []

    monkeypatch.setattr(store_module, "PING_AFTER_IDLE_SECONDS", 0.0)  # idle "long enough"
    _use(store)
    assert pings == [1]


def test_a_dead_idle_connection_is_replaced_unseen(pg, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    store, url, pings = pg
    monkeypatch.setattr(store_module, "PING_AFTER_IDLE_SECONDS", 0.0)
    _use(store)
    pings.clear()
    _end_connections(url)

    _use(store)  # pinged, found dead, replaced: the unit never sees it

    assert pings == [1]
    _use(store)  # and the new connection answers


def test_a_connection_dead_a_moment_after_use_costs_one_unit(pg, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    store, url, pings = pg
    monkeypatch.setattr(store_module, "PING_AFTER_IDLE_SECONDS", 60.0)
    _use(store)
    _end_connections(url)

    with pytest.raises(StoreUnavailableError):
        _use(store)
    _use(store)  # the pool dropped the dead connection

    assert pings == []
