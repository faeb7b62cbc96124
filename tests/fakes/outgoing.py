"""Fakes of the outgoing-mail ports: a renderer that keeps what it was asked to fill in, and a
composer that numbers its emails. No templates, no MIME: a test reads the context instead."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from intake_bot.domain.outgoing import Composed, Letter, Rendered


@dataclass
class FakeRenderer:
    rendered: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)

    def render(self, kind: str, context: Mapping[str, Any]) -> Rendered:
        self.rendered.append((kind, context))
        return Rendered(subject=kind, text=f"{kind}\n", html=f"<p>{kind}</p>")


@dataclass
class FakeComposer:
    letters: list[Letter] = field(default_factory=list)

    def compose(self, letter: Letter) -> Composed:
        self.letters.append(letter)
        n = len(self.letters)
        return Composed(f"<{n}@intake-bot.test>", letter.rendered.subject, f"email {n}".encode())
