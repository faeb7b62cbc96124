"""Working days in England: weekends and bank holidays (from the maintained `holidays` package)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo


@cache
def _bank_holidays(year: int) -> frozenset[date]:
    import holidays  # ~30 ms to import: only what counts working days pays for it

    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days after `start` (start itself not counted)."""
    current = start
    left = days
    while left > 0:
        current += timedelta(days=1)
        if is_working_day(current):
            left -= 1
    return current


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (negative if `end` is earlier)."""
    if end < start:
        return -working_days_between(end, start)
    return sum(1 for n in range(1, (end - start).days + 1) if is_working_day(start + timedelta(n)))


ENGLAND = ZoneInfo("Europe/London")


def today_in_england(now: datetime) -> date:
    """The date in England at `now` (an aware datetime): due dates and expiries are English."""
    return now.astimezone(ENGLAND).date()
