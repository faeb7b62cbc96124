"""Retention on SQLite and PostgreSQL: the SQL that picks what is due, the purge, the audit
trail, and `intake-bot retention run [--dry-run]`."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import time_machine
from typer.testing import CliRunner, Result

from intake_bot.bootstrap import App
from intake_bot.cli import app as cli_app
from intake_bot.services.retention import PURGED
from tests.conftest import REPO, FrozenClock
from tests.retention_cases import seed

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _frozen(clock: FrozenClock) -> Iterator[None]:
    with time_machine.travel(clock.now, tick=False):  # the command uses the system clock
        yield


def _invoke(app: App, *args: str) -> Result:
    env = {
        "INTAKE_BOT_DATABASE_URL": app.settings.database_url(),
        "INTAKE_BOT_MAILBOX_URL": app.settings.mailbox.url,
        "INTAKE_BOT_OUTGOING_URL": app.settings.outgoing.url,
        "INTAKE_BOT_PATHS_TEMPLATES": str(REPO / "templates"),
        "COLUMNS": "200",
    }
    result = CliRunner().invoke(
        cli_app, ["--config", str(REPO / "config/intake-bot.toml"), *args], env=env
    )
    assert result.exit_code == 0, result.output
    return result


def _kept(app: App, inbound_id: int) -> tuple[bytes, list[bytes]]:
    with app.store.unit() as unit:
        return unit.messages.raw(inbound_id), [
            a.data for a in unit.messages.attachments(inbound_id)
        ]


def test_the_purge_takes_the_raw_mail_and_leaves_the_records(app: App, clock: FrozenClock) -> None:
    cases = seed(app.store, clock.now)

    report = app.retention.run()

    assert {p.inbound_id for p in report.purged} == set(cases.purge.values())
    for inbound_id in cases.purge.values():
        assert _kept(app, inbound_id) == (b"", [b""])
    for inbound_id in cases.keep.values():
        raw, attachments = _kept(app, inbound_id)
        assert raw and attachments == [b"form"]
    with app.store.unit() as unit:
        closed = cases.requests["closed_long_ago"]
        assert unit.requests.get(closed) is not None  # the record stays
        trail = [e for e in unit.events.for_(request_id=closed) if e.action == PURGED]
        assert len(trail) == 2 and all("bytes" in e.note for e in trail)
        message = unit.messages.get(cases.purge["hold_reviewed"])
        assert message is not None and message.size > 0 and "patient data" in message.note
    assert app.retention.run().purged == ()


def test_retention_run_dry_run_lists_and_changes_nothing_then_run_purges(
    app: App, clock: FrozenClock
) -> None:
    cases = seed(app.store, clock.now)

    dry = json.loads(_invoke(app, "retention", "run", "--dry-run", "--json").stdout)
    assert dry["dry_run"] is True
    assert {p["inbound_id"] for p in dry["purged"]} == set(cases.purge.values())
    assert all(_kept(app, i)[0] for i in cases.purge.values())

    text = _invoke(app, "retention", "run").stdout
    assert f"{len(cases.purge)} message(s), freed" in text
    assert all(_kept(app, i)[0] == b"" for i in cases.purge.values())
