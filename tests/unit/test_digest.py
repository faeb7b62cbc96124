"""The digest's sections and their order (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from intake_bot.domain.digest import REVIEWS_SHOWN, DigestItem, DigestReview, Section, build_digest

TODAY = date(2016, 4, 20)
LAST_DIGEST = datetime(2016, 4, 19, 7, 0, tzinfo=UTC)


def _item(ref: str, received: datetime, due_on: date | None = None) -> DigestItem:
    return DigestItem(
        reference=ref,
        kind="New relationship",
        status="triaged",
        organisation="",
        received=received,
        due_on=due_on,
    )


def test_overdue_come_first_oldest_due_first_then_new_then_waiting() -> None:
    items = [
        _item("LR-5", datetime(2016, 4, 19, 9, tzinfo=UTC)),  # new
        _item("LR-4", datetime(2016, 4, 1, tzinfo=UTC), date(2016, 4, 25)),  # waiting, due later
        _item("LR-3", datetime(2016, 4, 2, tzinfo=UTC), date(2016, 4, 19)),  # overdue, due later
        _item("LR-2", datetime(2016, 4, 3, tzinfo=UTC), date(2016, 4, 18)),  # overdue, due first
        _item("LR-1", datetime(2016, 4, 4, tzinfo=UTC), date(2016, 4, 21)),  # waiting, due first
        _item("LR-6", datetime(2016, 4, 5, tzinfo=UTC)),  # waiting, no due date: last
    ]
    digest = build_digest("North", items, today=TODAY, since=LAST_DIGEST)
    assert [i.reference for i in digest.overdue] == ["LR-2", "LR-3"]
    assert [i.reference for i in digest.new] == ["LR-5"]
    assert [i.reference for i in digest.waiting] == ["LR-1", "LR-4", "LR-6"]
    assert [i.reference for i in digest.ordered()] == [
        "LR-2",
        "LR-3",
        "LR-5",
        "LR-1",
        "LR-4",
        "LR-6",
    ]
    assert digest.total == 6


def test_due_today_is_not_overdue() -> None:
    digest = build_digest("North", [_item("LR-1", LAST_DIGEST, TODAY)], today=TODAY, since=None)
    assert not digest.overdue and [i.reference for i in digest.new] == ["LR-1"]


def test_without_an_earlier_digest_everything_not_overdue_is_new() -> None:
    items = [_item("LR-2", datetime(2016, 4, 2, tzinfo=UTC)), _item("LR-1", LAST_DIGEST)]
    digest = build_digest("North", items, today=TODAY, since=None)
    assert [i.reference for i in digest.new] == ["LR-2", "LR-1"] and not digest.waiting


def test_an_item_received_exactly_at_the_last_digest_was_in_it() -> None:
    digest = build_digest("North", [_item("LR-1", LAST_DIGEST)], today=TODAY, since=LAST_DIGEST)
    assert not digest.new and len(digest.waiting) == 1


def test_nothing_open_is_an_empty_digest() -> None:
    assert build_digest("North", [], today=TODAY, since=None).total == 0


def test_the_first_digest_calls_its_new_items_new_not_new_since_the_last() -> None:
    first = build_digest("North", [], today=TODAY, since=None)
    later = build_digest("North", [], today=TODAY, since=LAST_DIGEST)
    assert first.title(Section.NEW) == "New"
    assert later.title(Section.NEW) == "New since the last digest"


def _review(number: int, waiting_since: datetime) -> DigestReview:
    return DigestReview(
        number=number,
        relationship=f"LCR-{number:06d}",
        party="commissioner",
        closed="NHS LEEDS NORTH CCG (03G)",
        closed_on=date(2016, 3, 31),
        closed_already=True,
        successors=(),
        waiting_since=waiting_since,
    )


def test_review_items_are_not_open_requests_and_the_oldest_are_listed() -> None:
    reviews = [
        _review(n, datetime(2016, 4, 19, 8, tzinfo=UTC) - timedelta(hours=n))
        for n in range(1, REVIEWS_SHOWN + 3)
    ]
    item = _item("LR-1", LAST_DIGEST)
    digest = build_digest("North", [item], today=TODAY, since=None, reviews=reviews)
    assert digest.open_count == 1 and [i.reference for i in digest.ordered()] == ["LR-1"]
    assert len(digest.reviews) == REVIEWS_SHOWN + 2 and digest.total == REVIEWS_SHOWN + 3
    oldest_first = sorted(range(1, REVIEWS_SHOWN + 3), reverse=True)
    assert [r.number for r in digest.reviews_shown] == oldest_first[:REVIEWS_SHOWN]
    assert [r.number for r in digest.reviews_cut] == [2, 1]  # the newest


def test_review_items_alone_make_a_digest() -> None:
    digest = build_digest("North", [], today=TODAY, since=None, reviews=[_review(1, LAST_DIGEST)])
    assert digest.open_count == 0 and digest.total == 1 and not digest.reviews_cut
