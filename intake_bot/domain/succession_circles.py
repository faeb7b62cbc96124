"""Successions that go round in a circle on one day (15F → X2A and X2A → 15F, both from
01/04/2026) say nothing true: each organisation's work would pass to the other and back. An
import that would leave one is refused, naming it. Successions years apart may come back to a
code (a merger undone); those are history, not a contradiction, and stay allowed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from graphlib import CycleError, TopologicalSorter
from typing import Protocol


class _Handover(Protocol):
    @property
    def old_code(self) -> str: ...
    @property
    def new_code(self) -> str: ...
    @property
    def effective_on(self) -> date | None: ...


def same_day_circle(successions: Iterable[_Handover]) -> list[str]:
    """The codes of a circle of successions taking effect on one day, the first repeated at
    the end ("15F", "X2A", "15F"); [] when there is none. An undated one may be of any day."""
    by_day: dict[date | None, list[tuple[str, str]]] = {}
    for s in successions:
        by_day.setdefault(s.effective_on, []).append((s.old_code, s.new_code))
    undated = by_day.pop(None, [])
    for edges in [*by_day.values()] or [[]]:
        graph: dict[str, set[str]] = {}  # each code after those that hand on to it
        for old, new in [*edges, *undated]:
            graph.setdefault(new, set()).add(old)
        try:
            TopologicalSorter(graph).prepare()
        except CycleError as exc:
            return [str(code) for code in exc.args[1]]
    return []
