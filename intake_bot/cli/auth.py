"""`intake-bot auth login NAME`: sign a mailbox in on a person's behalf (OAuth 2.0 device code)."""

from __future__ import annotations

from typing import Annotated

import typer

from intake_bot.cli.common import state

auth_app = typer.Typer(
    help="OAuth 2.0 sign-in of a mailbox or the outgoing server.", no_args_is_help=True
)


@auth_app.command("login")
def login(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The mailbox's name, or `outgoing`.")],
) -> None:
    """Sign in once for a mailbox set to `auth = "oauth2-delegated"`: open the address shown,
    enter the code and sign in as the mailbox's account. Its tokens are kept encrypted (with
    INTAKE_BOT_TOKEN_KEY) and renewed from then on; a running worker picks them up."""
    app = state(ctx).app()
    account = app.credentials.sign_in(name, lambda message: typer.echo(message, err=True))
    typer.echo(f"{name}: signed in as {account}; its tokens are stored and will be renewed")
