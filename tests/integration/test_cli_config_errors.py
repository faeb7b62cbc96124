"""An operator's mistake is one line naming the setting, and exit 2: never a traceback.

Each broken configuration is tried on every command that uses the broken part, in process
(typer's CliRunner on the real app) and, for a few, as a real `intake-bot` process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.core import TyperGroup
from typer.testing import CliRunner, Result

from intake_bot.cli import app
from intake_bot.cli.common import unreadable_setting
from intake_bot.config import load_settings
from tests.ods_files import trust_file

RUNNER = CliRunner()
EXE = Path(sys.executable).with_name("intake-bot")

SAMPLE_EML = (
    b"From: someone@nhs.net\r\nTo: dsfc@example.nhs.uk\r\nSubject: hello\r\n"
    b"Message-ID: <1@example>\r\n\r\nNo form here.\r\n"
)


def write_inputs(tmp: Path) -> None:
    (tmp / "mail.eml").write_bytes(SAMPLE_EML)
    (tmp / "register.csv").write_text(
        "Relationship reference,Commissioning organisation,Commissioning organisation ODS code\n"
        "LR-000001,NHS Leeds CCG,02V\n"
    )
    trust_file(tmp)


def invocations(tmp: Path) -> dict[str, list[str]]:
    """One invocation of every command, with arguments that get it past its own checks."""
    return {
        "run --once": ["run", "--once"],
        "demo": ["demo"],
        "parse": ["parse", str(tmp / "mail.eml")],
        "form": ["form", "-o", str(tmp / "blank.docx")],
        "queue": ["queue"],
        "config": ["config"],
        "config --check": ["config", "--check"],
        "status": ["status"],
        "health": ["health"],
        "retention run": ["retention", "run", "--dry-run"],
        "db upgrade": ["db", "upgrade"],
        "db status": ["db", "status"],
        "outbox": ["outbox"],
        "outbox retry": ["outbox", "retry"],
        "request show": ["request", "show", "LR-000001"],
        "request set-status": ["request", "set-status", "LR-000001", "withdrawn"],
        "request assign": ["request", "assign", "LR-000001", "someone"],
        "register list": ["register", "list"],
        "register export": ["register", "export", "-o", str(tmp / "register.xlsx")],
        "register import": ["register", "import", str(tmp / "register.csv")],
        "register history": ["register", "history", "LCR-000001"],
        "digest send": ["digest", "send"],
        "digest preview": ["digest", "preview", "North"],
        "s251 list": ["s251", "list"],
        "s251 add": [
            *("s251", "add", "CAG 1-01(a)/2030", "--title", "A study"),
            *("--purposes", "Invoice validation", "--expires", "2030-01-01"),
        ],
        "s251 extend": ["s251", "extend", "CAG 1-01(a)/2030", "--until", "2031-01-01"],
        "s251 remind": ["s251", "remind"],
        "message show": ["message", "show", "MSG-1"],
        "message answer": ["message", "answer", "MSG-1", "--template", "send_form"],
        "message link": ["message", "link", "MSG-1", "LR-000001"],
        "message close": ["message", "close", "MSG-1", "--note", "spam"],
        "message release": ["message", "release", "MSG-1"],
        "staff add": [
            *("staff", "add", "sam.smith@nhs.net", "--name", "Sam Smith"),
            *("--office", "North", "--password-stdin"),
        ],
        "staff list": ["staff", "list"],
        # An address no server can listen on: were the setting not caught first, it still ends.
        "web": ["web", "--host", "256.0.0.1", "--port", "1"],
        "staff disable": ["staff", "disable", "sam.smith@nhs.net"],
        "check": ["check"],
        "auth login": ["auth", "login", "enquiries"],
        "ods import": ["ods", "import", str(tmp / "etr.csv")],
        "ods reviews": ["ods", "reviews"],
        "ods decide": ["ods", "decide", "ODS-1", "end", "--note", "closed"],
    }


# Commands that never open the database (parse falls back to config/ when it cannot).
NO_DATABASE = {"parse", "form", "config"}
# Commands that open the mailbox, or check that it could be opened.
MAILBOX = {"run --once", "config --check"}
# Commands that read no settings at all.
NO_SETTINGS = {"form"}


@dataclass(frozen=True)
class Broken:
    """A broken configuration: what to set, the text the error must contain, who must fail."""

    env: Callable[[Path], dict[str, str]]
    names: str
    commands: Callable[[set[str]], set[str]]


def _imaps(**extra: str) -> Callable[[Path], dict[str, str]]:
    def env(tmp: Path) -> dict[str, str]:
        found = {k: v.replace("{tmp}", str(tmp)) for k, v in extra.items()}
        return {"INTAKE_BOT_MAILBOX_URL": "imaps://intake@mail.example.nhs.uk/INBOX", **found}

    return env


def _not_a_folder(tmp: Path) -> dict[str, str]:
    (tmp / "a-file").write_text("in the way")
    return {"INTAKE_BOT_DATABASE_URL": f"sqlite:///{tmp}/a-file/sub/intake.db"}


def _invalid_toml(tmp: Path) -> dict[str, str]:
    (tmp / "bad.toml").write_text("[mailbox\nurl = 1\n")
    return {"INTAKE_BOT_CONFIG": str(tmp / "bad.toml")}


def _database_users(all_commands: set[str]) -> set[str]:
    return all_commands - NO_DATABASE


def _mailbox_users(all_commands: set[str]) -> set[str]:
    return MAILBOX & all_commands


def _settings_users(all_commands: set[str]) -> set[str]:
    return all_commands - NO_SETTINGS


BROKEN = {
    "database unreachable": Broken(
        lambda tmp: {"INTAKE_BOT_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/x"},
        "database.url",
        # Checks do not connect to the database; `check` and `auth login` reach mail servers only.
        lambda c: _database_users(c) - {"config --check", "check", "auth login"},
    ),
    "unknown kind of database": Broken(
        lambda tmp: {"INTAKE_BOT_DATABASE_URL": "nosuchdb://x"}, "database.url", _database_users
    ),
    "SQLite folder cannot be made": Broken(_not_a_folder, "database.url", _database_users),
    "unknown mailbox scheme": Broken(
        lambda tmp: {"INTAKE_BOT_MAILBOX_URL": "pop3://intake@mail.example.nhs.uk/INBOX"},
        "mailbox.url",
        lambda c: _mailbox_users(c) | {"demo"},
    ),
    "missing password file": Broken(
        _imaps(INTAKE_BOT_MAILBOX_PASSWORD_FILE="{tmp}/no-such-password"),
        "mailbox.password_file",
        _mailbox_users,
    ),
    "missing oauth2 token file": Broken(
        _imaps(INTAKE_BOT_MAILBOX_OAUTH2_TOKEN_FILE="{tmp}/no-such-token"),
        "mailbox.oauth2_token_file",
        _mailbox_users,
    ),
    "IMAP without a password": Broken(_imaps(), "mailbox.password_file", _mailbox_users),
    "config file missing": Broken(
        lambda tmp: {"INTAKE_BOT_CONFIG": str(tmp / "nowhere.toml")},
        "INTAKE_BOT_CONFIG",
        _settings_users,
    ),
    "invalid TOML": Broken(_invalid_toml, "bad.toml: not valid TOML", _settings_users),
    "bad cron": Broken(
        lambda tmp: {"INTAKE_BOT_DIGEST_CRON": "every morning"}, "digest.cron", _settings_users
    ),
    "unknown time zone": Broken(
        lambda tmp: {"INTAKE_BOT_TIMEZONE": "Europe/Londn"}, "timezone", _settings_users
    ),
    # One send could outlast its claim, and another sender would send that email again.
    "outbox claim shorter than two sends": Broken(
        lambda tmp: {
            "INTAKE_BOT_OUTGOING_CLAIM_SECONDS": "2",
            "INTAKE_BOT_OUTGOING_TIMEOUT_SECONDS": "30",
        },
        "outgoing.claim_seconds",
        _settings_users,
    ),
}


def _clean_env(extra: dict[str, str]) -> dict[str, str | None]:
    """The environment for one run: none of the caller's INTAKE_BOT_* names, plus `extra`."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("INTAKE_BOT_")}
    env.update(extra)
    return env


def _leaf_commands() -> set[str]:
    found: set[str] = set()

    def walk(command: Any, path: list[str]) -> None:
        if isinstance(command, TyperGroup):  # commands are imported as they are asked for
            ctx = typer.Context(command)
            for name in command.list_commands(ctx):
                walk(command.get_command(ctx, name), [*path, name])
        else:
            found.add(" ".join(path))

    walk(typer.main.get_command(app), [])
    return found


def test_every_command_is_tried() -> None:
    """A new command must be added to `invocations`, so that the table above covers it."""
    groups = {"db", "outbox", "request", "register", "digest", "s251", "message", "retention"}
    groups |= {"staff", "auth", "ods"}
    tried = {" ".join(a[: 2 if a[0] in groups else 1]) for a in invocations(Path()).values()}
    assert _leaf_commands() - tried == set()


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A folder of its own: no config/ to pick up, and var/ is made here.
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("broken", sorted(BROKEN))
def test_each_broken_setting_is_one_line_and_exit_2_for_every_command_that_uses_it(
    broken: str, tmp_path: Path
) -> None:
    case = BROKEN[broken]
    env = _clean_env(case.env(tmp_path))
    write_inputs(tmp_path)
    commands = invocations(tmp_path)
    affected = case.commands(set(commands))
    assert affected, broken
    wrong = [
        _wrong(name, RUNNER.invoke(app, commands[name], env=env), case.names) for name in affected
    ]
    assert [w for w in wrong if w] == [], broken


def _wrong(name: str, result: Result, names: str) -> str:
    """What is wrong with how `name` reported the broken setting ("" when nothing is)."""
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    # `health` is a monitor's probe: an unreachable database is its exit 1 (unhealthy), a
    # setting it cannot even read an operator error (2); either stops the container.
    expected = (1, 2) if name == "health" else (2,)
    checks = {
        f"exit {'/'.join(map(str, expected))}": result.exit_code in expected,
        "no exception escaped": result.exception is None
        or isinstance(result.exception, SystemExit),
        "no traceback": "Traceback" not in result.output,
        f"names {names}": names in result.output,
        # --check lists each problem on stdout instead
        "one error line": name in ("config --check", "health") or len(errors) == 1,
    }
    failed = [what for what, ok in checks.items() if not ok]
    return (
        f"{name}: not {', '.join(failed)}: exit {result.exit_code}: {result.output}"
        if failed
        else ""
    )


def test_showing_the_settings_still_works_when_a_server_setting_is_wrong(tmp_path: Path) -> None:
    env = _clean_env(
        {"INTAKE_BOT_DATABASE_URL": "nosuchdb://x", "INTAKE_BOT_MAILBOX_URL": "pop3://a@b/"}
    )
    result = RUNNER.invoke(app, ["config"], env=env)
    assert result.exit_code == 0, result.output
    assert '"url": "nosuchdb://x"' in result.stdout


def _run_exe(args: list[str], extra: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    if not EXE.exists():
        pytest.skip(f"no {EXE.name} script beside {sys.executable}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_BOT_")}
    return subprocess.run(
        [str(EXE), *args],
        env={**env, **extra},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("broken", "args"),
    [
        ("database unreachable", ["db", "status"]),
        ("unknown kind of database", ["queue"]),
        ("SQLite folder cannot be made", ["run"]),  # the worker, not --once: stops at start
        ("unknown mailbox scheme", ["run"]),
        ("missing oauth2 token file", ["run", "--once"]),
        ("invalid TOML", ["s251", "list"]),
        ("unknown time zone", ["digest", "send"]),
    ],
)
def test_a_real_process_prints_one_line_and_exits_2(
    broken: str, args: list[str], tmp_path: Path
) -> None:
    case = BROKEN[broken]
    done = _run_exe(args, case.env(tmp_path), tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stderr.startswith("error: "), done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert case.names in done.stderr


def test_the_sqlite_folder_is_made_when_needed(tmp_path: Path) -> None:
    db = tmp_path / "deep" / "er" / "intake.db"
    done = _run_exe(["db", "upgrade"], {"INTAKE_BOT_DATABASE_URL": f"sqlite:///{db}"}, tmp_path)
    assert done.returncode == 0, done.stderr
    assert db.is_file()


def test_a_file_the_settings_name_that_an_adapter_could_not_open_is_named(tmp_path: Path) -> None:
    settings = load_settings(env={"INTAKE_BOT_MAILBOX_OAUTH2_TOKEN_FILE": "secrets/token"})
    missing = FileNotFoundError(2, "No such file or directory", "secrets/token")
    assert unreadable_setting(missing, settings) == (
        "mailbox.oauth2_token_file: cannot use secrets/token: No such file or directory; "
        "fix the path or the file"
    )
    elsewhere = FileNotFoundError(2, "No such file or directory", "/somewhere/else")
    assert unreadable_setting(elsewhere, settings) is None  # not the operator's: a traceback


@pytest.mark.parametrize("command", [["form", "-o"], ["register", "export", "-o"]])
@pytest.mark.parametrize("where", ["no/such/folder/out", "a-folder"])
def test_a_file_that_cannot_be_written_is_one_line_and_exit_2(
    command: list[str], where: str, tmp_path: Path
) -> None:
    (tmp_path / "a-folder.docx").mkdir()  # a folder where the file would go
    (tmp_path / "a-folder.xlsx").mkdir()
    suffix = {"form": ".docx", "register": ".xlsx"}[command[0]]
    env = _clean_env({})
    RUNNER.invoke(app, ["db", "upgrade"], env=env)
    result = RUNNER.invoke(app, [*command, str(tmp_path / f"{where}{suffix}")], env=env)
    assert _wrong(" ".join(command), result, "cannot write") == ""
