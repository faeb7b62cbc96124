"""The `intake-bot` command. Each command is a few lines over a service call."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from intake_bot import __version__
from intake_bot.cli import (
    admin,
    auth,
    check,
    digest,
    health,
    messages,
    parse,
    queues,
    register,
    requests,
    retention,
    run,
    s251,
    staff,
    status,
    web,
)
from intake_bot.cli.common import State, fail, operator_message, state, unreadable_setting
from intake_bot.errors import OperatorError


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


app = typer.Typer(
    cls=OneLineErrors,
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


app.command("run")(_checked_first(run.run))
app.command("demo")(run.demo)
app.command("parse")(parse.parse)
app.command("form")(parse.form)
app.command("queue")(queues.queue)
app.command("config")(admin.show_config)
app.command("status")(status.status)
app.command("web")(_checked_first(web.web))
app.command("health")(health.health)
app.command("check")(check.check)
app.add_typer(admin.db_app, name="db")
app.add_typer(admin.outbox_app, name="outbox")
app.add_typer(requests.request_app, name="request")
app.add_typer(register.register_app, name="register")
app.add_typer(digest.digest_app, name="digest")
app.add_typer(messages.message_app, name="message")
app.add_typer(s251.s251_app, name="s251")
app.add_typer(retention.retention_app, name="retention")
app.add_typer(staff.staff_app, name="staff")
app.add_typer(auth.auth_app, name="auth")


def main() -> None:
    app()
