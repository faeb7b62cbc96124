"""Whether the schema is up to date is answered without importing Alembic (`run` and `web` ask it
at every start); the answers must be Alembic's own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from intake_bot.store import migrate
from intake_bot.store.store import Store


def test_the_newest_revision_read_from_the_files_is_alembics_head() -> None:
    assert migrate.newest_revision() == migrate.head_revision()


def test_the_recorded_revision_is_alembics_current_one(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'intake.db'}")
    try:
        assert migrate.recorded_revision(store) is None
        migrate.upgrade(store)
        assert migrate.recorded_revision(store) == migrate.current_revision(store)
        assert migrate.recorded_revision(store) == migrate.newest_revision()
    finally:
        store.dispose()


def test_asking_whether_the_schema_is_up_to_date_imports_no_alembic(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from intake_bot.store.migrate import AlembicSchema\n"
        "from intake_bot.store.store import Store\n"
        f"schema = AlembicSchema(Store.from_url('sqlite:///{tmp_path / 'x.db'}'))\n"
        "print(schema.current(), schema.head(), 'alembic' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    current, head, imported = done.stdout.split()
    assert (current, imported) == ("None", "False")
    assert head == migrate.newest_revision()
