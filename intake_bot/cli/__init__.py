"""The `intake-bot` command. Each command is a few lines over a service call.

Commands are registered in `COMMANDS` by name and imported only when they run: `--help` lists
them from the registry, so it imports no command (nor SQLAlchemy, the mail stack, openpyxl ...).
"""

from __future__ import annotations

import difflib
import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from typer import _click as click  # typer ships its own copy of click: its classes are these
from typer._click.exceptions import UsageError
from typer.core import TyperCommand, TyperGroup
from typer.main import get_command_from_info, get_group
from typer.models import CommandInfo

from intake_bot import __version__
from intake_bot.cli.common import State, fail, operator_message, state, unreadable_setting
from intake_bot.errors import OperatorError


@dataclass(frozen=True)
class Entry:
    """A command or a group of commands, imported when it runs."""

    target: str  # "module:attribute": a command function or a `typer.Typer` group
    help: str  # the line `intake-bot --help` shows; a test keeps it equal to the command's own
    checked: bool = False  # the settings must pass the checks `config --check` makes first


# The one place a command or a group is registered, in the order `--help` lists them.
COMMANDS: dict[str, Entry] = {
    "run": Entry(
        "intake_bot.cli.run:run",
        "Poll the mailbox and send the outbox on their intervals, until SIGTERM.",
        checked=True,
    ),
    "demo": Entry(
        "intake_bot.cli.run:demo",
        "Put sample emails in the local Maildir, run one cycle, and show the queues and replies.",
    ),
    "parse": Entry(
        "intake_bot.cli.parse:parse",
        "Show what a poll would file or reject, and why. Exit 0 accepted, 1 rejected,"
        " 2 unreadable.",
    ),
    "form": Entry(
        "intake_bot.cli.parse:form", "Write the blank request form that commissioners fill in."
    ),
    "queue": Entry(
        "intake_bot.cli.queues:queue",
        "The staff queues: open requests per regional office and kind, enquiries, quarantine.",
    ),
    "config": Entry(
        "intake_bot.cli.admin:show_config",
        "Print the effective settings (file + environment), secrets masked.",
    ),
    "status": Entry(
        "intake_bot.cli.status:status",
        "Each mailbox's last poll (when, and what it found or why it failed), the staff"
        " backlog, the outbox (pending, failed, the last errors), the quarantine and its"
        " patient-data holds.",
    ),
    "web": Entry(
        "intake_bot.cli.web:web",
        "Serve the staff web console (sign in with an account made by `intake-bot staff add`).",
        checked=True,
    ),
    "health": Entry(
        "intake_bot.cli.health:health",
        "Exit 0 when the database answers and every mailbox was polled within three of its"
        " intervals; otherwise print each problem on a line of stderr and exit 1.",
    ),
    "check": Entry(
        "intake_bot.cli.check:check",
        "Connect to every mailbox (or MAILBOX) and the outgoing server and report each step:"
        " DNS, TCP, TLS and the certificate, login (password or OAuth 2.0 token), folders, the"
        " server's capabilities and how many messages wait; for each fault, what to do.",
    ),
    "db": Entry("intake_bot.cli.admin:db_app", "The database: create or upgrade the schema."),
    "outbox": Entry(
        "intake_bot.cli.admin:outbox_app", "Outgoing email: what is waiting, sent or failed."
    ),
    "request": Entry(
        "intake_bot.cli.requests:request_app", "One request: show it, move it along, assign it."
    ),
    "register": Entry(
        "intake_bot.cli.register:register_app",
        "The register of relationships: list, export the published spreadsheet, import.",
    ),
    "ods": Entry(
        "intake_bot.cli.ods:ods_app",
        "Organisations from ODS: import its published files; review closed organisations.",
    ),
    "digest": Entry(
        "intake_bot.cli.digest:digest_app",
        "Staff digests: each regional office's open queue, by email once a day.",
    ),
    "message": Entry(
        "intake_bot.cli.messages:message_app",
        "Emails that hold no request (enquiries, quarantine): read, answer, link, close, release.",
    ),
    "s251": Entry(
        "intake_bot.cli.s251:s251_app",
        "Section 251 (CAG) approvals: list, add, extend, and the reminders before they expire.",
    ),
    "retention": Entry(
        "intake_bot.cli.retention:retention_app",
        "Retention: raw mail purged once it is no longer needed.",
    ),
    "staff": Entry("intake_bot.cli.staff:staff_app", "Staff accounts of the web console."),
    "auth": Entry(
        "intake_bot.cli.auth:auth_app", "OAuth 2.0 sign-in of a mailbox or the outgoing server."
    ),
}


def load(entry: Entry) -> Callable[..., Any] | typer.Typer:
    """The command function or group an entry names (importing its module)."""
    module, _, attribute = entry.target.partition(":")
    found: Callable[..., Any] | typer.Typer = getattr(importlib.import_module(module), attribute)
    return found


class OneLineErrors(TyperGroup):
    """Every command: an operator's error (settings, an unreachable database, a mailbox that
    refuses the login) is one line on stderr and exit 2, never a traceback."""

    def invoke(self, ctx: Any) -> Any:  # typer keeps its Context class in a private module
        try:
            return super().invoke(ctx)
        except OperatorError as exc:
            fail(operator_message(exc))
        except OSError as exc:
            # A file the settings name (a token file, the Maildir) that an adapter opened itself.
            obj = ctx.obj
            message = unreadable_setting(exc, obj._settings if isinstance(obj, State) else None)
            if message is None:
                raise
            fail(message)


class LazyCommands(OneLineErrors):
    """The commands of `COMMANDS`, each imported when it is resolved, not when listed."""

    _listing = False  # while help is written: commands are described from the registry

    def list_commands(self, ctx: click.Context) -> list[str]:
        # The registry's order, whichever commands have been imported so far.
        return [*COMMANDS, *(n for n in super().list_commands(ctx) if n not in COMMANDS)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if cmd_name in self.commands or entry is None:
            return super().get_command(ctx, cmd_name)
        if self._listing:
            return TyperCommand(cmd_name, help=entry.help, short_help=entry.help)
        command = self._command(cmd_name, entry)
        self.commands[cmd_name] = command
        return command

    def _command(self, name: str, entry: Entry) -> click.Command:
        target = load(entry)
        if isinstance(target, typer.Typer):
            group = get_group(target)
            group.name = name
            return group
        callback = _checked_first(target) if entry.checked else target
        info = CommandInfo(name=name, callback=callback)
        return get_command_from_info(
            info, pretty_exceptions_short=True, rich_markup_mode=self.rich_markup_mode
        )

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except UsageError as exc:
            close = difflib.get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if close and "Did you mean" not in exc.message:
                names = ", ".join(repr(c) for c in close)
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {names}?"
            raise


app = typer.Typer(
    cls=LazyCommands,
    name="intake-bot",
    help="Files DSfC legitimate-relationship requests from a mailbox and answers every sender.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"intake-bot {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Settings file (default: $INTAKE_BOT_CONFIG or config/intake-bot.toml).",
        ),
    ] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True)] = False,
) -> None:
    ctx.obj = State(config=config)


def _checked_first(command: Callable[..., None]) -> Callable[..., None]:
    """`command` runs only once the settings pass the checks that `config --check` makes."""

    @functools.wraps(command)
    def checked(ctx: typer.Context, **options: Any) -> None:
        state(ctx).check_before_start()
        command(ctx, **options)

    return checked


def main() -> None:
    app()
