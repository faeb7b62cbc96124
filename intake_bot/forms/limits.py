"""How much the readers may take from one file and one email: bytes, counts and time.

`ReadLimits` is the `[limits]` settings section as the readers see it: the same fields, so
`ReadLimits(**as_dict(settings.limits))` makes one, and the defaults live only in config.
A `Budget` is one attachment's share: readers call `tick()` in their loops (rows, cells,
paragraphs, parts) and `cut()` to name what a limit made them leave unread. Time is checked
cooperatively, so reading costs no extra process; what cannot be interrupted (a C parser on
one part) is bounded by the byte limits instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from intake_bot.config_limits import LimitSettings
from intake_bot.config_types import as_dict
from intake_bot.domain.form_versions import CURRENT_ONLY, FormVersions
from intake_bot.forms.seen_text import SeenText

Clock = Callable[[], float]  # seconds, monotonic

MB = 1024 * 1024
_TICKS_PER_CHECK = 64  # a clock read costs little, but rows and cells come in their millions


@dataclass(frozen=True)
class ReadLimits:
    """The `[limits]` settings; what each means, and the defaults, are in config_limits."""

    attachment_seconds: float
    message_seconds: float
    attachment_bytes: int
    inflated_bytes: int
    part_bytes: int
    shared_strings: int
    rows_per_sheet: int
    columns_per_sheet: int
    parts_per_email: int
    requests_per_email: int
    parse_workers: int = 0  # for the poll (services/reading.py), not the readers
    # Not a [limits] setting: the form versions a file may declare and be read as (from
    # config/forms/, domain/form_versions.py); carried here so that every reader of a message,
    # in whatever process, reads by the same ones.
    form_versions: FormVersions = CURRENT_ONLY


# For callers without settings (`intake-bot parse` on a file, tests): the settings' defaults.
DEFAULT_LIMITS = ReadLimits(**as_dict(LimitSettings()))


class LimitError(Exception):
    """A reader stopped at a limit; `what` is the phrase that completes "it ..." for the sender."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class OutOfTimeError(LimitError):
    """The time budget of the attachment or of its email ran out."""

    def __init__(self, what: str, *, whole_email: bool) -> None:
        super().__init__(what)
        self.whole_email = whole_email


class TooMuchError(LimitError):
    """More items (texts, parts) than a limit allows, counted as actually read."""


class TooLargeError(TooMuchError):
    """More bytes than a limit allows, counted as actually inflated."""


@dataclass
class Budget:
    """One attachment's limits, deadline and cuts. Not thread-safe: one reader at a time."""

    limits: ReadLimits = DEFAULT_LIMITS
    deadline: float = float("inf")  # on `clock`
    email_deadline: float = float("inf")  # the whole email's, when that is the earlier one
    clock: Clock = time.monotonic
    cuts: list[str] = field(default_factory=list)
    inflated: int = 0
    seen: SeenText = field(default_factory=SeenText)  # text passed over: the NHS number check
    _ticks: int = 0

    @classmethod
    def start(
        cls,
        limits: ReadLimits = DEFAULT_LIMITS,
        email_deadline: float | None = None,
        clock: Clock = time.monotonic,
    ) -> Budget:
        """A fresh budget for one attachment, ending no later than `email_deadline`."""
        ends = clock() + limits.attachment_seconds
        email = float("inf") if email_deadline is None else email_deadline
        return cls(limits, min(ends, email), email, clock)

    def tick(self) -> None:
        """Called once a row, cell, paragraph or chunk: now and then, check the clock."""
        self._ticks += 1
        if self._ticks >= _TICKS_PER_CHECK:
            self._ticks = 0
            self.check_time()

    def check_time(self) -> None:
        if self.clock() > self.deadline:
            whole_email = self.email_deadline <= self.deadline
            raise OutOfTimeError("took too long to read", whole_email=whole_email)

    def inflate(self, count: int) -> None:
        """`count` more bytes inflated from the file's zip parts."""
        self.inflated += count
        if self.inflated > self.limits.inflated_bytes:
            raise TooLargeError(f"unpacks to more than {megabytes(self.limits.inflated_bytes)}")

    def cut(self, text: str) -> None:
        """Name something a limit left unread; said to the sender and to staff."""
        if text not in self.cuts:
            self.cuts.append(text)


def email_deadline(limits: ReadLimits = DEFAULT_LIMITS, clock: Clock = time.monotonic) -> float:
    """When reading one email's attachments must end, from now."""
    return clock() + limits.message_seconds


def megabytes(count: int) -> str:
    return f"{count / MB:g} MB"


def numbered(count: int) -> str:
    return f"{count:,}"
