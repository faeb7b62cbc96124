"""`intake-bot` imports a command only when it runs, and what a command needs only when it needs it.

The start-up times themselves are measured by `bench/startup.py`, not here: what is checked is
which modules a command leaves unimported, in a fresh interpreter.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.core import TyperGroup
from typer.main import get_command

from intake_bot import samples
from intake_bot.cli import COMMANDS, app
from intake_bot.store import migrate
from intake_bot.store.store import Store

# Run as `intake-bot ARGS...`; print the top-level packages and the intake_bot modules imported.
_PROBE = """
import json, sys
sys.argv = ["intake-bot", *sys.argv[1:]]
from intake_bot.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""

HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "openpyxl", "jinja2", "starlette", "apscheduler")
# The settings are msgspec structs: pydantic (with its schema building) cost ~0.1 s of each start.
# Typer from 0.29 imports it too, to check each option: pyproject.toml keeps Typer below it.
SETTINGS_UNNEEDED = ("pydantic", "pydantic_core")
ORM_AND_MIGRATIONS = ("sqlalchemy", "sqlmodel", "alembic")


def _imported(*args: str, cwd: Path, **settings: str) -> set[str]:
    env = {"PATH": "/usr/bin:/bin", "INTAKE_BOT_LOG_LEVEL": "WARNING", **settings}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "[]"
    modules: list[str] = json.loads(last)
    return set(modules)


def _loaded(modules: set[str], packages: tuple[str, ...]) -> set[str]:
    return {p for p in packages if p in modules}


def test_help_imports_no_command_and_no_heavy_library(tmp_path: Path) -> None:
    modules = _imported("--help", cwd=tmp_path)
    assert _loaded(modules, (*HEAVY, "pydantic", "intake_bot.bootstrap")) == set()
    commands = {m for m in modules if m.startswith("intake_bot.cli.")}
    assert commands <= {"intake_bot.cli.common", "intake_bot.cli.logs"}


def test_parse_of_a_word_form_needs_no_workbook_reader_nor_migrations(tmp_path: Path) -> None:
    form = tmp_path / "request.docx"
    form.write_bytes(samples.docx_form(samples.new_request()))
    modules = _imported("parse", str(form), cwd=tmp_path)
    assert "intake_bot.services.intake" in modules  # it did parse
    unneeded = ("openpyxl", "alembic", "jinja2", "starlette", "msal", "httpx", "argon2")
    assert _loaded(modules, (*unneeded, *SETTINGS_UNNEEDED)) == set()
    assert _loaded(modules, ("sqlalchemy", "sqlmodel")) == set()  # no database to read here
    assert "intake_bot.domain.workflow_views" not in modules  # the staff's views: not a preview's


def test_parse_of_a_workbook_reads_it_without_openpyxl(tmp_path: Path) -> None:
    form = tmp_path / "request.xlsx"
    form.write_bytes(samples.xlsx_request(samples.new_request()))
    modules = _imported("parse", str(form), cwd=tmp_path)
    assert "intake_bot.forms.xlsx_package" in modules  # it did read the workbook
    assert _loaded(modules, ("openpyxl", "sqlalchemy", "jinja2")) == set()


def test_parse_with_a_sqlite_database_reads_it_without_the_orm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    store = Store.from_url(url)
    migrate.upgrade(store)
    store.dispose()
    form = tmp_path / "request.docx"
    form.write_bytes(samples.docx_form(samples.new_request()))
    modules = _imported("parse", str(form), cwd=tmp_path, INTAKE_BOT_DATABASE_URL=url)
    assert "intake_bot.store.sqlite_parse_reads" in modules  # it did read the database
    assert (
        _loaded(modules, (*ORM_AND_MIGRATIONS, "openpyxl", "jinja2", *SETTINGS_UNNEEDED)) == set()
    )


def test_queue_on_sqlite_needs_no_orm_nor_the_mail_stack(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    store = Store.from_url(url)
    migrate.upgrade(store)
    store.dispose()
    modules = _imported("queue", "--json", cwd=tmp_path, INTAKE_BOT_DATABASE_URL=url)
    assert "intake_bot.services.queues" in modules  # it did list the queues
    unneeded = ("jinja2", "msal", "httpx", "openpyxl", "starlette", "apscheduler", "argon2")
    assert _loaded(modules, (*ORM_AND_MIGRATIONS, *unneeded, *SETTINGS_UNNEEDED)) == set()
    # Only the queue's own views: the request, message and audit views are classes to make too.
    views = ("intake_bot.domain.workflow_views", "intake_bot.domain.polls")
    assert _loaded(modules, views) == set()


def test_the_ports_name_the_records_and_views_without_importing_them() -> None:
    probe = "import json, sys, intake_bot.ports; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    modules = set(json.loads(done.stdout))
    assert "intake_bot.ports" in modules
    typed_only = (
        "intake_bot.domain.records",
        "intake_bot.domain.outgoing",
        "intake_bot.domain.polls",
        "intake_bot.domain.queue_views",
        "intake_bot.ports_ods",
    )
    assert _loaded(modules, typed_only) == set()


def _group() -> TyperGroup:
    """The click group that Typer makes of the app (`get_command` is typed as any command)."""
    group = get_command(app)
    assert isinstance(group, TyperGroup)
    return group


def test_help_lists_every_command_with_the_line_its_own_help_starts_with() -> None:
    group = _group()
    ctx = group.make_context("intake-bot", ["--version"], resilient_parsing=True)
    for name, entry in COMMANDS.items():
        command = group.get_command(ctx, name)
        assert command is not None, name
        own = " ".join((command.help or "").split("\n\n")[0].split())
        assert entry.help == own, f"COMMANDS[{name!r}].help differs from the command's help"


@pytest.mark.parametrize("name", ["queue", "db", "parse"])
def test_a_registered_command_resolves_to_its_implementation(name: str) -> None:
    group = _group()
    ctx = group.make_context("intake-bot", ["--version"], resilient_parsing=True)
    command = group.get_command(ctx, name)
    assert command is not None and command.name == name
    assert command.params or getattr(command, "commands", None)


def test_help_lists_the_commands_in_the_registrys_order_once_some_are_imported(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    group = _group()
    ctx = group.make_context("intake-bot", ["--version"], resilient_parsing=True)
    group.get_command(ctx, "queue")  # imported first: still listed where the registry puts it
    text = group.get_help(ctx) + capsys.readouterr().out  # Rich prints it; plain click returns it
    listed = re.findall(r"^│ (\S+) ", text, flags=re.MULTILINE)
    assert [n for n in listed if not n.startswith("-")] == list(COMMANDS)
