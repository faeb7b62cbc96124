"""CAG references as people write them, and approvals on the register."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intake_bot.domain.approvals import (
    Approval,
    approvals_for_purpose,
    normalise_cag_refs,
    parse_cag_refs,
)


@pytest.mark.parametrize(
    "text",
    [
        "CAG 7-04(a)/2013",
        "CAG 7-04 (a)/2013",
        "7-04(a)/2013",
        "cag 7-04(a) / 2013",
        "CAG 7-04(A)/2013",
        "CAG7-04(a)/2013",
        "CAG 7 - 04 (a) / 13",
        " CAG 7-04(a)/2013. ",
    ],
)
def test_one_reference_in_its_spellings_is_canonical(text: str) -> None:
    assert parse_cag_refs(text) == (["CAG 7-04(a)/2013"], [])


def test_reference_without_a_letter_is_canonical() -> None:
    assert normalise_cag_refs("cag 2-03 / 2013") == ["CAG 2-03/2013"]


@pytest.mark.parametrize(
    "text",
    [
        "CAG 7-07 (a) - (c) /2013",
        "CAG 7-07(a)-(c)/2013",
        "CAG 7-07(a-c)/2013",
        "CAG 7-07 (a to c)/2013",
        "CAG 7-07(a),(b),(c)/2013",
        "CAG 7-07(a), (b) and (c)/2013",
        "CAG 7-07(a)(b)(c)/2013",
        "CAG 7-07(a, b, c)/2013",
    ],
)
def test_ranges_and_lists_of_letters_name_each_approval(text: str) -> None:
    assert normalise_cag_refs(text) == [
        "CAG 7-07(a)/2013",
        "CAG 7-07(b)/2013",
        "CAG 7-07(c)/2013",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "CAG 7-04(a)/2013, CAG 2-03(a)/2013",
        "CAG 7-04(a)/2013; CAG 2-03(a)/2013",
        "CAG 7-04(a)/2013\nCAG 2-03(a)/2013",
        "CAG 7-04(a)/2013 and CAG 2-03(a)/2013",
        "CAG 7-04(a)/2013 & 2-03(a)/2013",
        "CAG 7-04(a)/2013 CAG 2-03(a)/2013",
        "CAG 7-04(a)/2013, CAG 2-03(a)/2013, cag 7-04 (a)/2013",
    ],
)
def test_several_references_are_split_and_deduplicated(text: str) -> None:
    assert parse_cag_refs(text) == (["CAG 7-04(a)/2013", "CAG 2-03(a)/2013"], [])


def test_pieces_that_are_not_references_are_returned_separately() -> None:
    parsed = parse_cag_refs("CAG 7-04(a)/2013, see attached letter; 17/CAG/0001\nCAG 7-04(b)")
    assert parsed.refs == ["CAG 7-04(a)/2013"]
    assert parsed.unparsed == ["see attached letter", "17/CAG/0001", "CAG 7-04(b)"]


def test_a_backwards_range_is_not_read() -> None:
    assert parse_cag_refs("CAG 7-07(c)-(a)/2013") == ([], ["CAG 7-07(c)-(a)/2013"])


def test_nothing_gives_nothing() -> None:
    assert parse_cag_refs("  \n ") == ([], [])


_REF = st.builds(
    lambda major, minor, letter, year, spaced: (
        f"{'CAG ' if spaced else ''}{major}-{minor:02d}"
        + (f"{' ' if spaced else ''}({letter})" if letter else "")
        + f"{' / ' if spaced else '/'}{year}"
    ),
    st.integers(1, 99),
    st.integers(0, 99),
    st.sampled_from(["", "a", "b", "C"]),
    st.integers(2000, 2099),
    st.booleans(),
)


@given(st.lists(_REF, max_size=5), st.sampled_from([", ", "; ", "\n", " and "]))
def test_normalising_is_idempotent(refs: list[str], separator: str) -> None:
    once = normalise_cag_refs(separator.join(refs))
    assert len(once) == len({r.casefold().replace(" ", "") for r in once})
    assert normalise_cag_refs("\n".join(once)) == once
    assert all(r.startswith("CAG ") for r in once)


_IV = Approval("CAG 7-04(a)/2013", "Invoice validation", ("Invoice validation",), date(2018, 3, 31))
_RS = Approval(
    "CAG 2-03(a)/2013", "Risk stratification", ("Risk stratification",), date(2017, 3, 31)
)


def test_approval_covers_its_purposes_whatever_the_case() -> None:
    assert _IV.covers("invoice validation")
    assert not _IV.covers("Risk stratification")


def test_approval_is_in_force_until_the_day_before_its_expiry_date() -> None:
    # On the expiry day staff are alerted and relationships flagged: no longer to be relied on.
    assert not _RS.expired_on(date(2017, 3, 30))
    assert _RS.expired_on(date(2017, 3, 31))


def test_approvals_for_purpose_picks_those_that_cover_it() -> None:
    assert approvals_for_purpose([_IV, _RS], "Risk stratification") == [_RS]
    assert approvals_for_purpose([_IV, _RS], "Commissioning") == []
