"""The one rule for "legal basis expired", which the queue, the register, `request show`, approval
and the reminders all ask."""

from __future__ import annotations

from datetime import date

from intake_bot.domain.approvals import Approval as DomainApproval
from intake_bot.domain.legal_basis import approvals_relied_on, legal_basis_expired
from intake_bot.domain.records import Approval

RS, IV = "CAG 7-04(a)/2013", "CAG 7-07(a)/2013"
APPROVALS = [
    Approval(RS, "Risk stratification", date(2017, 3, 31)),
    Approval(IV, "Invoice validation", date(2018, 3, 31)),
]


def test_references_are_read_as_people_write_them_each_once() -> None:
    values = {"s251_references": ["cag 7-04 (a) / 2013", "CAG 7-07(a),(b)/2013", RS, "pending"]}
    assert approvals_relied_on(values) == [RS, IV, "CAG 7-07(b)/2013", "pending"]
    assert approvals_relied_on({"s251_references": "7-04(a)/2013"}) == [RS]
    assert approvals_relied_on({}) == []


def test_the_legal_basis_expires_on_the_expiry_day_itself() -> None:
    relied = [RS, IV]
    assert legal_basis_expired(relied, APPROVALS, date(2017, 3, 30)) == []
    assert legal_basis_expired(relied, APPROVALS, date(2017, 3, 31)) == [RS]
    assert legal_basis_expired(relied, APPROVALS, date(2018, 4, 1)) == [RS, IV]


def test_an_unknown_reference_is_not_reported_and_duplicates_count_once() -> None:
    assert legal_basis_expired(["CAG 9-99/2013", RS, RS], APPROVALS, date(2020, 1, 1)) == [RS]


def test_a_later_effective_date_asks_the_same_rule_on_that_day() -> None:
    # Approved today, taking effect after the approval it relies on has expired.
    assert legal_basis_expired([RS], APPROVALS, date(2017, 1, 1)) == []
    assert legal_basis_expired([RS], APPROVALS, date(2017, 4, 1)) == [RS]


def test_the_domain_approval_and_the_record_agree() -> None:
    domain = DomainApproval(RS, "Risk stratification", ("Risk stratification",), date(2017, 3, 31))
    for day in (date(2017, 3, 30), date(2017, 3, 31)):
        assert domain.expired_on(day) == bool(legal_basis_expired([RS], [domain], day))
