"""Schema migrations (Alembic), run from code: no alembic.ini is needed where it is deployed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text

from intake_bot.store.store import Store

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported where it is used: it costs most of a second, and most commands never
# touch the schema. Whether the schema is up to date (`AlembicSchema.current` and `head`, which
# every start of `run` and `web` asks) is answered without it.

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


def recorded_revision(store: Store) -> str | None:
    """The revision the database is at, read from Alembic's own table (None: not made yet)."""
    with store.engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


_REVISION = re.compile(r'^(down_revision|revision)\b[^=]*=\s*(?:"([^"]+)"|None)', re.MULTILINE)


def newest_revision() -> str | None:
    """The revision no migration in `versions/` revises: what `head_revision` says, found by
    reading the files rather than importing Alembic (a unit test keeps the two equal)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for kind, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            if value:
                (revisions if kind == "revision" else revised).add(value)
    heads = sorted(revisions - revised)
    return heads[0] if len(heads) == 1 else None


class AlembicSchema:
    """The `Schema` port over Alembic, for one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def embedded(self) -> bool:
        return self.store.engine.url.drivername.startswith("sqlite")

    def current(self) -> str | None:
        return recorded_revision(self.store)

    def head(self) -> str | None:
        return newest_revision()

    def upgrade(self) -> None:
        upgrade(self.store)
