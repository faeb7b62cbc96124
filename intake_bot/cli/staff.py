"""`intake-bot staff add | list | disable`: the web console's accounts."""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from intake_bot.cli.common import By, actor, fmt_time, print_json, state, table
from intake_bot.cli.requests import refused
from intake_bot.domain.staff import MIN_PASSWORD, StaffMember
from intake_bot.domain.workflow import WorkflowError

staff_app = typer.Typer(help="Staff accounts of the web console.", no_args_is_help=True)

Email = Annotated[str, typer.Argument(help="The address they sign in with.")]


@staff_app.command("add")
def add(
    ctx: typer.Context,
    email: Email,
    name: Annotated[str, typer.Option("--name", help="Their name, as colleagues see it.")],
    office: Annotated[
        list[str], typer.Option("--office", help="A regional office whose work they see (repeat).")
    ],
    role: Annotated[
        str, typer.Option("--role", help="caseworker, lead (approves, rejects) or admin.")
    ] = "caseworker",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    by: By = "",
) -> None:
    """Add an account; asks for its password (at least 12 characters) unless --password-stdin."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"Password for {email} (at least {MIN_PASSWORD} characters): ")
    app = state(ctx).app()
    app.database.ensure_ready()  # an account is often the first thing made on a new install
    try:
        added = app.staff.add(
            email, name=name, offices=office, role=role, password=password, actor=actor(by)
        )
    except WorkflowError as exc:
        refused(exc)
    typer.echo(f"{added.email}: added as {added.role} for {', '.join(added.offices)}")
    if added.totp_uri:  # shown once: the admin adds it to their authenticator app now
        typer.echo("Admins sign in with an authenticator app's code too. Add this to the app")
        typer.echo(f"(or make a QR code of it), now: it is not shown again:\n{added.totp_uri}")


@staff_app.command("list")
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Every account: role, offices, and whether it may sign in."""
    app = state(ctx).app()
    app.database.ensure_ready()
    members = app.staff.list()
    if as_json:
        print_json(members)
        return
    table("Staff", ["Email", "Name", "Role", "Offices", "State", "Last sign-in"], _rows(members))


@staff_app.command("disable")
def disable(ctx: typer.Context, email: Email, by: By = "") -> None:
    """The account can no longer sign in; its open sessions end."""
    try:
        app = state(ctx).app()
        app.database.ensure_ready()
        done = app.staff.disable(email, actor=actor(by))
    except WorkflowError as exc:
        refused(exc)
    typer.echo(f"{done.email}: disabled")


def _locked(member: StaffMember) -> bool:
    return member.locked_until is not None and member.locked_until > datetime.now(UTC)


def _rows(members: list[StaffMember]) -> list[list[object]]:
    return [
        [
            m.email,
            m.name,
            m.role.value,
            ", ".join(m.offices),
            "disabled" if m.disabled else "locked" if _locked(m) else "active",
            fmt_time(m.last_login_at) if m.last_login_at else "never",
        ]
        for m in members
    ]
