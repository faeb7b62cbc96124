"""Shared fixtures. Real servers (Dovecot, SMTP, PostgreSQL) come from tests/servers.py."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest

from intake_bot.bootstrap import App, build, load_reference_data
from intake_bot.config import Settings, load_settings
from intake_bot.store import migrate
from intake_bot.store.store import Store

pytest_plugins = ["tests.servers"]

REPO = Path(__file__).resolve().parents[1]


class FrozenClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2016, 3, 21, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def sql_store(app: App) -> Store:
    """The SQL store under `app`. `App.store` is typed as the port; tests that count rows with
    SQL, migrate or dispose of the engine need the adapter."""
    store = app.store
    assert isinstance(store, Store), type(store)
    return store


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each store test runs on SQLite and on a fresh PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'intake.db'}"
        return
    from tests.servers import postgres_reachable, require, temporary_postgres_database

    reachable, reason = postgres_reachable()
    require(reachable, reason)
    with temporary_postgres_database() as url:
        yield url


def make_settings(tmp_path: Path, database_url: str, **sections: Mapping[str, object]) -> Settings:
    env = {
        "INTAKE_BOT_DATABASE_URL": database_url,
        "INTAKE_BOT_MAILBOX_URL": f"maildir:{tmp_path / 'mail'}",
        "INTAKE_BOT_OUTGOING_URL": f"file:{tmp_path / 'outbox'}",
        "INTAKE_BOT_PATHS_S251": str(REPO / "config/s251.toml"),
        "INTAKE_BOT_PATHS_ORGANISATIONS": str(REPO / "config/organisations.toml"),
        "INTAKE_BOT_PATHS_TEMPLATES": str(REPO / "templates"),
    }
    for section, values in sections.items():
        for key, value in values.items():
            env[f"INTAKE_BOT_{section.upper()}_{key.upper()}"] = str(value)
    return load_settings(REPO / "config/intake-bot.toml", env=env)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def app(tmp_path: Path, database_url: str, clock: FrozenClock) -> Iterator[App]:
    """The application on a migrated database, with the reference data loaded."""
    settings = make_settings(tmp_path, database_url)
    application = build(settings, clock=clock, store=Store.from_url(database_url))
    migrate.upgrade(sql_store(application))
    load_reference_data(application)
    yield application
    sql_store(application).dispose()
