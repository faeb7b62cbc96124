"""Email templates: one Jinja2 environment over `templates/email` (the `Renderer` port)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from intake_bot.domain.outgoing import Rendered

if TYPE_CHECKING:
    from jinja2 import Environment

__all__ = ["RELOAD_CHECK_SECONDS", "Rendered", "Renderer"]

# How stale a letter's templates may be after an edit in the folder.
RELOAD_CHECK_SECONDS = 1.0


class Renderer:
    """Renders `<kind>.subject.txt`, `<kind>.txt` and `<kind>.html` with one context.

    An edited template is used from the next letter a second or more after the edit, without a
    restart. Jinja2's own auto_reload would look at the file of every template a letter uses
    (and of the base it extends) for every letter: a hundredth of a poll.
    """

    def __init__(self, templates_dir: Path, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.templates_dir = templates_dir
        self._clock = clock
        self._checked_at: float | None = None
        self._signature: frozenset[tuple[str, int, int]] | None = None

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
            auto_reload=False,  # _current() looks at the folder instead
        )

    def render(self, kind: str, context: Mapping[str, Any]) -> Rendered:
        env = self._current()
        subject = env.get_template(f"{kind}.subject.txt").render(context)
        return Rendered(
            subject=" ".join(subject.split()),
            text=env.get_template(f"{kind}.txt").render(context),
            html=env.get_template(f"{kind}.html").render(context),
        )

    def _current(self) -> Environment:
        """The environment, its compiled templates dropped if the folder changed since it was
        last looked at (at most once every RELOAD_CHECK_SECONDS)."""
        env, now = self.env, self._clock()
        if self._checked_at is None or now - self._checked_at >= RELOAD_CHECK_SECONDS:
            self._checked_at = now
            signature = _folder_signature(self.templates_dir / "email")
            if signature != self._signature:
                if env.cache is not None:
                    env.cache.clear()
                self._signature = signature
        return env


def _folder_signature(folder: Path) -> frozenset[tuple[str, int, int]]:
    """Each file's name, modification time and size: an edit, a new file or a removed one
    changes it."""
    try:
        with os.scandir(folder) as entries:
            return frozenset(
                (e.name, (st := e.stat()).st_mtime_ns, st.st_size) for e in entries if e.is_file()
            )
    except OSError:  # no folder: get_template names the missing template
        return frozenset()
