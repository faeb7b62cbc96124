"""Email templates: one Jinja2 environment over `templates/email` (the `Renderer` port)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from intake_bot.domain.outgoing import Rendered

__all__ = ["Rendered", "Renderer"]


class Renderer:
    """Renders `<kind>.subject.txt`, `<kind>.txt` and `<kind>.html` with one context."""

    def __init__(self, templates_dir: Path) -> None:
        self.env = Environment(
            loader=FileSystemLoader(templates_dir / "email"),
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
