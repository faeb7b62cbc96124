"""Schema migrations (Alembic), run from code: no alembic.ini is needed where it is deployed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from intake_bot.store.store import Store

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported where it is used: it costs most of a second, and most commands never
# touch the schema.

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(store: Store, revision: str = "head") -> None:
    """Bring the schema up to `revision` (creates it from empty)."""
    from alembic import command

    cfg = _config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(store: Store) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with store.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def revision(store: Store, message: str) -> None:
    """Autogenerate a new migration against `store` (a developer command)."""
    from alembic import command

    cfg = _config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.revision(cfg, message=message, autogenerate=True)


class AlembicSchema:
    """The `Schema` port over Alembic, for one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def embedded(self) -> bool:
        return self.store.engine.url.drivername.startswith("sqlite")

    def current(self) -> str | None:
        return current_revision(self.store)

    def head(self) -> str | None:
        return head_revision()

    def upgrade(self) -> None:
        upgrade(self.store)
