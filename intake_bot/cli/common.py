"""What every command shares: loading settings, logging, printing tables or JSON."""

from __future__ import annotations

import getpass
import json
import logging
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn
from zoneinfo import ZoneInfo

import typer

from intake_bot.cli import logs
from intake_bot.domain.printable import clean_text
from intake_bot.errors import OperatorError
from intake_bot.jsonable import json_value

if TYPE_CHECKING:
    from rich.console import Console

    from intake_bot.application import Application
    from intake_bot.config import Settings

# The settings, the application and the checks are imported when a command first asks for them
# (`State`): `intake-bot --help` needs none of them, and each costs tens of milliseconds.


class Terminal:
    """Standard output through rich's console, which is built (and rich imported, about 12 ms)
    on first use: `parse` and every `--json` print without it. Every string is cleaned first:
    names, subjects and form values are what people (or attackers) typed, and an escape sequence
    must never reach the terminal."""

    @cached_property
    def rich(self) -> Console:
        from rich.console import Console

        return Console()

    def print(self, *objects: Any, **options: Any) -> None:
        self.rich.print(*(clean_text(o) if isinstance(o, str) else o for o in objects), **options)


console = Terminal()


@dataclass
class State:
    config: Path | None = None
    _settings: Settings | None = None

    def settings(self) -> Settings:
        """The settings, loaded once; a ConfigError reaches `main`, which prints one line."""
        if self._settings is None:
            from intake_bot.config import load_settings

            self._settings = load_settings(self.config)
            setup_logging(self._settings.log_level)
        return self._settings

    def app(self) -> Application:
        from intake_bot.bootstrap import build

        return build(self.settings())

    def check_before_start(self) -> None:
        """Refuse to start the worker on settings it cannot work with, rather than log a
        traceback every minute."""
        from intake_bot.checks import check_settings
        from intake_bot.config import PACKAGED_CONFIG
        from intake_bot.forms.version_files import shipped_not_read

        settings = self.settings()
        found = check_settings(settings)
        log = logging.getLogger("intake_bot")
        for problem in found:
            if not problem.stops_worker:
                log.warning("%s", problem)
        for note in shipped_not_read(settings.paths.forms, PACKAGED_CONFIG / "forms"):
            log.warning("%s", note)
        problems = [p for p in found if p.stops_worker]
        if problems:
            fail("; ".join(map(str, problems)) + " (intake-bot config --check lists them)")


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj


def fail(message: str, code: int = 2) -> NoReturn:
    err_line(message)
    raise typer.Exit(code)


def fail_each(message: str, code: int = 2) -> NoReturn:
    """`fail` for a message of several problems, one a line: an `error:` line each."""
    for line in message.splitlines() or [message]:
        if line.strip():
            err_line(line)
    raise typer.Exit(code)


def err_line(message: str) -> None:
    """`error: …` on one line of stderr, without terminal escapes, at most 2,000 characters: a
    message may quote a file's own words."""
    from intake_bot.domain.printable import clean_line

    text = " ".join(clean_line(message).split())
    text = text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 1] + "…"
    # Plain text: a message may hold "[mailbox]", which rich would take as markup.
    typer.echo(style("error:", fg="red") + " " + text, err=True)


_MAX_ERROR = 2_000


def style(text: str, **how: Any) -> str:
    """`text` in colour or bold, as rich's output is, except where NO_COLOR asks for none (click
    leaves colour out by itself only when the output is not a terminal)."""
    from intake_bot.config import no_colour_wanted

    return text if no_colour_wanted() else typer.style(text, **how)


def operator_message(exc: OperatorError) -> str:
    """What is wrong and how to fix it, naming the setting to look at."""
    message = " ".join(str(exc).split()) or type(exc).__name__
    if exc.setting and exc.setting not in message:
        message = f"{exc.setting}: {message}"
    return message


def unreadable_setting(exc: OSError, settings: Settings | None) -> str | None:
    """The message for a file or folder the settings name that could not be used, else None."""
    if settings is None or exc.filename is None:
        return None
    failed = Path(str(exc.filename)).absolute()
    for setting, path in named_paths(settings):
        if path is not None and path.absolute() == failed:
            return f"{setting}: cannot use {path}: {exc.strerror}; fix the path or the file"
    return None


def named_paths(settings: Settings) -> list[tuple[str, Path | None]]:
    """Each file or folder that a setting names, with that setting."""
    named: list[tuple[str, Path | None]] = []
    for box in settings.mailboxes:
        label = settings.mailbox_label(box)
        named += [
            (f"{label}.password_file", box.password_file),
            (f"{label}.oauth2_token_file", box.oauth2_token_file),
        ]
        if box.url.startswith("maildir:"):
            named.append((f"{label}.url", Path(box.url.split(":", 1)[1])))
    if settings.outgoing.url.startswith("file:"):
        named.append(("outgoing.url", Path(settings.outgoing.url.split(":", 1)[1])))
    return [
        *named,
        ("outgoing.password_file", settings.outgoing.password_file),
        ("database.password_file", settings.database.password_file),
        ("paths.s251", settings.paths.s251),
        ("paths.organisations", settings.paths.organisations),
        ("paths.templates", settings.paths.templates),
    ]


def setup_logging(level: str) -> None:
    # Logs name messages by mailbox and UID, never by their content (no patient data, no bodies);
    # JSON lines when stderr is not a terminal; chatty libraries kept at WARNING (cli/logs.py).
    logs.configure(level)


def print_json(data: Any) -> None:
    text = json.dumps(data, indent=2, default=json_value, ensure_ascii=False)
    # json escapes C0 controls itself; C1 controls and bidi marks are escaped here.
    sys.stdout.write(_INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")


_INVISIBLE = re.compile("[\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


# Tables show dates as dd/mm/yyyy and times as dd/mm/yyyy HH:MM in the default time zone; --json
# output keeps ISO 8601 (print_json).
@cache
def _london() -> ZoneInfo:
    from intake_bot.config import DEFAULT_TIMEZONE

    return ZoneInfo(DEFAULT_TIMEZONE)


def fmt_date(value: date | None) -> str:
    """dd/mm/yyyy, or "" for no date."""
    return value.strftime("%d/%m/%Y") if value is not None else ""


def fmt_time(value: datetime | None) -> str:
    """dd/mm/yyyy HH:MM in the default time zone (England), or "" for no time."""
    return value.astimezone(_london()).strftime("%d/%m/%Y %H:%M") if value is not None else ""


def output_format(path: Path, allowed: Sequence[str], given: str | None = None) -> str:
    """The format a file to write is in, by its extension ("docx", "xlsx", "csv"): a name that
    says one format while the file holds another misleads whoever opens it. Exits 2 when the
    extension is none of `allowed`, or is not the `given` --format."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in allowed:
        names = " or ".join(f".{a}" for a in allowed)
        fail(f"{path.name}: cannot tell the format from the name; end it in {names}")
    if given is not None and given != suffix:
        fail(f"{path.name} names a .{suffix} file, but --format {given} was asked for")
    return suffix


def default_actor() -> str:
    """Who `--by` names when it is not given: the user running the command."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "staff"


# The `--by` option of every command that records who acted; empty means `default_actor()`.
By = Annotated[
    str,
    typer.Option("--by", help="Who is acting, for the audit trail (default: your user name)."),
]


def actor(by: str) -> str:
    """The actor `--by` names, else the user running the command."""
    return by.strip() or default_actor()


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=escape(title), title_justify="left")
    for c in columns:
        t.add_column(c)
    for row in rows:
        # Cells hold what people typed: never let "[/x]" in a value be read as markup.
        t.add_row(*(escape(clean_text(str(v))) for v in row))
    console.print(t)
