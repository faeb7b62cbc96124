"""The `intake-bot` command. Each command is a few lines over a service call."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from intake_bot import __version__
from intake_bot.cli import admin, digest, inspect, register, requests, run, s251
from intake_bot.cli.common import State

app = typer.Typer(
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


app.command("run")(run.run)
app.command("demo")(run.demo)
app.command("parse")(inspect.parse)
app.command("form")(inspect.form)
app.command("queue")(inspect.queue)
app.command("config")(admin.show_config)
app.add_typer(admin.db_app, name="db")
app.add_typer(admin.outbox_app, name="outbox")
app.add_typer(requests.request_app, name="request")
app.add_typer(register.register_app, name="register")
app.add_typer(digest.digest_app, name="digest")
app.add_typer(s251.s251_app, name="s251")


def main() -> None:
    app()
