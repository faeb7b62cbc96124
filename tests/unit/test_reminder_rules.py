"""Which s251 reminder is due on a day: the pure rule, checked day by day and pattern by pattern."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import chain, combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intake_bot.domain.approvals import has_expired
from intake_bot.domain.reminders import EXPIRY_NOTICE, days_left, due_offset, reminder_offsets

EXPIRY = date(2017, 3, 31)
OFFSETS = (90, 60, 30, 14, 7, 1)
ALL = (*OFFSETS, EXPIRY_NOTICE)


def day(before_expiry: int) -> date:
    return EXPIRY - timedelta(days=before_expiry)


def subsets(items: tuple[int, ...]) -> list[frozenset[int]]:
    return [
        frozenset(c)
        for c in chain.from_iterable(combinations(items, n) for n in range(len(items) + 1))
    ]


def run_days(up_days: list[date], offsets: tuple[int, ...] = OFFSETS) -> list[tuple[date, int]]:
    """What a worker that runs on `up_days` (in order) sends: (day, offset) pairs."""
    sent: list[tuple[date, int]] = []
    for today in up_days:
        due = due_offset(today, EXPIRY, offsets, {offset for _, offset in sent})
        if due is not None:
            sent.append((today, due))
    return sent


# --- examples -----------------------------------------------------------------------------------


def test_nothing_is_due_before_the_first_offset() -> None:
    assert due_offset(day(91), EXPIRY, OFFSETS, set()) is None
    assert due_offset(day(365), EXPIRY, OFFSETS, set()) is None


@pytest.mark.parametrize("offset", OFFSETS)
def test_each_offset_is_due_on_its_own_day(offset: int) -> None:
    older = {o for o in OFFSETS if o > offset}
    assert due_offset(day(offset), EXPIRY, OFFSETS, older) == offset
    assert due_offset(day(offset), EXPIRY, OFFSETS, set()) == offset


def test_the_expiry_notice_is_due_on_the_expiry_day_and_after_it() -> None:
    assert due_offset(EXPIRY, EXPIRY, OFFSETS, set(OFFSETS)) == EXPIRY_NOTICE
    assert due_offset(EXPIRY + timedelta(days=40), EXPIRY, OFFSETS, set(OFFSETS)) == EXPIRY_NOTICE


def test_the_expiry_notice_goes_once() -> None:
    assert due_offset(EXPIRY, EXPIRY, OFFSETS, {*OFFSETS, EXPIRY_NOTICE}) is None
    assert due_offset(EXPIRY + timedelta(days=1), EXPIRY, OFFSETS, {EXPIRY_NOTICE}) is None


def test_a_sent_reminder_is_not_due_again_on_the_following_days() -> None:
    for before in range(29, 14, -1):
        assert due_offset(day(before), EXPIRY, OFFSETS, {90, 60, 30}) is None


def test_ten_days_of_downtime_over_two_offsets_give_one_reminder_for_the_most_recent() -> None:
    # Up every day until 15 days before, down for ten days (over the 14- and 7-day reminders).
    up = [day(n) for n in range(100, 15, -1)] + [day(n) for n in range(5, -3, -1)]
    sent = run_days(up)
    assert sent == [
        (day(90), 90),
        (day(60), 60),
        (day(30), 30),
        (day(5), 7),
        (day(1), 1),
        (EXPIRY, 0),
    ]


def test_downtime_over_the_expiry_day_gives_only_the_expiry_notice() -> None:
    up = [day(n) for n in range(100, 3, -1)] + [EXPIRY + timedelta(days=2)]
    assert run_days(up)[-1] == (EXPIRY + timedelta(days=2), EXPIRY_NOTICE)
    assert [offset for _, offset in run_days(up)] == [90, 60, 30, 14, 7, 0]


def test_a_relationship_that_starts_relying_late_gets_the_most_recent_reminder_only() -> None:
    assert due_offset(day(45), EXPIRY, OFFSETS, set()) == 60
    assert due_offset(day(10), EXPIRY, OFFSETS, set()) == 14


def test_an_older_reminder_is_never_due_once_a_more_recent_one_was_sent() -> None:
    # e.g. the offsets were changed to add 20 days after the 14-day reminder went out.
    assert due_offset(day(12), EXPIRY, (90, 60, 30, 20, 14, 7, 1), {90, 60, 30, 14}) is None


def test_offsets_are_cleaned_sorted_and_each_kept_once() -> None:
    assert reminder_offsets([1, 7, 90, 7, 0, -3, 30]) == [90, 30, 7, 1]
    assert due_offset(day(7), EXPIRY, [1, 7, 7, 0, -5], set()) == 7


def test_without_offsets_only_the_expiry_notice_goes() -> None:
    assert run_days([day(n) for n in range(100, -5, -1)], offsets=()) == [(EXPIRY, 0)]


def test_days_left_and_expired() -> None:
    assert days_left(day(3), EXPIRY) == 3
    assert days_left(EXPIRY + timedelta(days=2), EXPIRY) == -2
    assert not has_expired(day(1), EXPIRY)
    assert has_expired(EXPIRY, EXPIRY)
    assert has_expired(EXPIRY + timedelta(days=1), EXPIRY)


# --- exhaustive: every day around the schedule, every set of reminders already sent -------------


@pytest.mark.parametrize("sent", subsets(ALL), ids=lambda s: ",".join(map(str, sorted(s))) or "-")
def test_every_day_and_every_sent_set_follow_the_rule(sent: frozenset[int]) -> None:
    for before in range(120, -15, -1):
        today = day(before)
        reached = [o for o in ALL if today >= EXPIRY - timedelta(days=o)]
        latest = min(reached) if reached else None
        got = due_offset(today, EXPIRY, OFFSETS, sent)
        if latest is None or any(s <= latest for s in sent):
            assert got is None, (today, sorted(sent))
        else:
            assert got == latest, (today, sorted(sent))


def test_a_worker_up_every_day_sends_each_reminder_on_its_day_and_nothing_else() -> None:
    sent = run_days([day(n) for n in range(200, -60, -1)])
    assert sent == [(day(o), o) for o in ALL]


# --- any pattern of downtime --------------------------------------------------------------------

WINDOW = [day(n) for n in range(130, -20, -1)]


@settings(max_examples=400, deadline=None)
@given(up=st.lists(st.booleans(), min_size=len(WINDOW), max_size=len(WINDOW)))
def test_any_downtime_sends_each_reminder_at_most_once_late_never_early_newest_only(
    up: list[bool],
) -> None:
    days = [d for d, running in zip(WINDOW, up, strict=True) if running]
    sent = run_days(days)
    offsets = [o for _, o in sent]
    assert offsets == sorted(set(offsets), reverse=True)  # each once, newer after older
    for today, offset in sent:
        assert today >= EXPIRY - timedelta(days=offset)  # never early
        if offset:
            assert today < EXPIRY
        reached = [o for o in ALL if today >= EXPIRY - timedelta(days=o)]
        assert offset == min(reached)  # only the most recent reminder reached
    # Whatever the downtime, a worker up on or after the expiry day gives the notice, once.
    if any(d >= EXPIRY for d in days):
        assert offsets[-1] == EXPIRY_NOTICE
        first_after = min(d for d in days if d >= EXPIRY)
        assert sent[-1][0] == first_after
    # A reminder's own day, when the worker was up, is the day it went.
    for offset in ALL:
        if day(offset) in days:
            assert (day(offset), offset) in sent
