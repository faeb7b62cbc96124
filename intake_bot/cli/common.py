"""What every command shares: loading settings, logging, printing tables or JSON."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from intake_bot.bootstrap import App, build
from intake_bot.config import ConfigError, Settings, load_settings

console = Console()
err_console = Console(stderr=True)


@dataclass
class State:
    config: Path | None = None
    _settings: Settings | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(self.config)
            except ConfigError as exc:
                fail(str(exc))
            setup_logging(self._settings.log_level)
        return self._settings

    def app(self) -> App:
        try:
            return build(self.settings())
        except ConfigError as exc:
            fail(str(exc))


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj


def fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def setup_logging(level: str) -> None:
    # Logs name messages by mailbox and UID, never by their content (no patient data, no bodies).
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    t = Table(title=escape(title), title_justify="left")
    for c in columns:
        t.add_column(c)
    for row in rows:
        # Cells hold what people typed: never let "[/x]" in a value be read as markup.
        t.add_row(*(escape(str(v)) for v in row))
    console.print(t)
