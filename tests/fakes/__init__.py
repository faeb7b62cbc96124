"""In-memory fakes of the ports, for fast use-case tests with no server.

`FakeStore` keeps every record in `Memory` (lists by record class); each repository fake reads
and writes that memory, so a record a service changed inside a unit is simply the same object.
A unit that raises is rolled back by restoring the memory as it was when the unit began.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

R = TypeVar("R")


@dataclass
class Memory:
    """Every record the fake store holds, by class, in the order added."""

    rows: dict[type[Any], list[Any]] = field(default_factory=dict)
    next_ids: dict[type[Any], int] = field(default_factory=dict)
    # Store-internal state (cursors, leases, attempts), keyed as each fake likes.
    state: dict[str, Any] = field(default_factory=dict)

    def all(self, cls: type[R]) -> list[R]:
        return self.rows.setdefault(cls, [])

    def stage(self, record: R) -> R:
        """Keep `record` without an id yet (what `Unit.add` does until a flush)."""
        self.all(type(record)).append(record)
        return record

    def add(self, record: R) -> R:
        """Keep `record` and give it its id at once: for tests that seed the memory directly."""
        self.stage(record)
        self.give_ids()
        return record

    def give_ids(self) -> None:
        """What a flush does: every record without an id gets the next one of its class."""
        for cls, records in self.rows.items():
            for record in records:
                if getattr(record, "id", 0) is None:
                    n = self.next_ids.get(cls, 0) + 1
                    self.next_ids[cls] = n
                    record.id = n


class FakeUnit:
    """One transaction over `Memory`. As in the real store, a record gets its id at `flush` or
    when the unit ends, not at `add`: a service that reads an id too early fails here too."""

    def __init__(self, memory: Memory) -> None:
        from tests.fakes.ods import FakeOrganisations
        from tests.fakes.polling import FakePolling
        from tests.fakes.records import FakeEvents, FakeMessages, FakeOutbox, FakeRequests
        from tests.fakes.register import FakeNotices, FakeReference, FakeRegister
        from tests.fakes.staff import FakeStaff

        self.memory = memory
        self.messages = FakeMessages(memory)
        self.requests = FakeRequests(memory)
        self.events = FakeEvents(memory)
        self.outbox = FakeOutbox(memory)
        self.reference = FakeReference(memory)
        self.register = FakeRegister(memory)
        self.notices = FakeNotices(memory)
        self.polling = FakePolling(memory)
        self.staff = FakeStaff(memory)
        self.organisations = FakeOrganisations(memory)

    def add(self, record: R) -> R:
        return self.memory.stage(record)

    def flush(self) -> None:
        self.memory.give_ids()


class FakeStore:
    def __init__(self) -> None:
        self.memory = Memory()
        self.units = 0  # how many units were opened (a test can check batching)

    @contextmanager
    def unit(self) -> Iterator[FakeUnit]:
        self.units += 1
        before = copy.deepcopy(self.memory)
        try:
            yield FakeUnit(self.memory)
            self.memory.give_ids()
        except BaseException:
            self.memory.rows, self.memory.next_ids = before.rows, before.next_ids
            self.memory.state = before.state
            raise
