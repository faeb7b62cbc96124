"""Email templates: one Jinja2 environment over `templates/email` (the `Renderer` port)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from intake_bot.domain.outgoing import Rendered

if TYPE_CHECKING:
    from jinja2 import Environment

__all__ = ["Rendered", "Renderer"]


class Renderer:
    """Renders `<kind>.subject.txt`, `<kind>.txt` and `<kind>.html` with one context."""

    def __init__(self, templates_dir: Path) -> None:
        self.templates_dir = templates_dir

    @cached_property
    def env(self) -> Environment:
        # Made on the first letter: a command that writes none (parse, queue) skips Jinja2's import.
        from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

        return Environment(
            loader=FileSystemLoader(self.templates_dir / "email"),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,  # a missing value is a bug, not a blank in a letter
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def render(self, kind: str, context: Mapping[str, Any]) -> Rendered:
        subject = self.env.get_template(f"{kind}.subject.txt").render(context)
        return Rendered(
            subject=" ".join(subject.split()),
            text=self.env.get_template(f"{kind}.txt").render(context),
            html=self.env.get_template(f"{kind}.html").render(context),
        )
