"""Staff accounts on the in-memory fakes: added with checks, signed in, locked, disabled."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from intake_bot.domain.records import Event, StaffAccount
from intake_bot.domain.staff import (
    Role,
    SignInError,
    StaffError,
    may_set_status,
    sees_office,
    sees_queue,
)
from intake_bot.domain.status import Status
from intake_bot.domain.triage import Office
from intake_bot.services.staff import Staff
from tests.fakes import FakeStore
from tests.fakes.intake import Clock

PASSWORD = "correct horse battery"
FAST = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)  # the real thing, cheaply
OFFICES = (Office("North"), Office("Midlands and East", ("M&E",)), Office("London"))


def _staff() -> tuple[Staff, FakeStore, Clock]:
    store, clock = FakeStore(), Clock()
    return Staff(store=store, clock=clock, offices=OFFICES, hasher=FAST), store, clock


def _add(staff: Staff, email: str = "Sam.Smith@NHS.net", **overrides: object) -> None:
    options: dict[str, object] = {
        "name": "Sam Smith",
        "offices": ["north", "M&E"],
        "role": "caseworker",
        "password": PASSWORD,
        "actor": "admin",
    }
    options.update(overrides)
    staff.add(email, **options)  # type: ignore[arg-type]


def test_an_account_is_added_with_its_offices_by_name_and_no_password_kept() -> None:
    staff, store, _ = _staff()
    _add(staff)
    (account,) = store.memory.all(StaffAccount)
    assert account.email == "sam.smith@nhs.net"
    assert account.offices == ["North", "Midlands and East"]
    assert PASSWORD not in account.password_hash and account.password_hash.startswith("$argon2")
    (event,) = store.memory.all(Event)
    assert event.action == "staff_added" and event.actor == "admin"


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"email": "not an address"}, "not an email address"),
        ({"offices": ["Wales"]}, "no regional office 'Wales'"),
        ({"offices": []}, "at least one regional office"),
        ({"role": "boss"}, "no role 'boss'"),
        ({"password": "short"}, "at least 12 characters"),
        ({"name": " "}, "name"),
    ],
)
def test_a_wrong_account_is_refused_with_the_reason(
    overrides: dict[str, object], says: str
) -> None:
    staff, store, _ = _staff()
    email = str(overrides.pop("email", "sam.smith@nhs.net"))
    with pytest.raises(StaffError, match=says):
        _add(staff, email, **overrides)
    assert store.memory.all(StaffAccount) == []


def test_an_email_has_one_account() -> None:
    staff, _, _ = _staff()
    _add(staff)
    with pytest.raises(StaffError, match="has an account already"):
        _add(staff, "sam.smith@nhs.net")


def test_signing_in_checks_the_password_and_never_says_which_part_was_wrong() -> None:
    staff, _, clock = _staff()
    _add(staff)
    member = staff.sign_in("SAM.SMITH@nhs.net", PASSWORD)
    assert member.role is Role.CASEWORKER and member.last_login_at == clock.now
    for email, password in (("sam.smith@nhs.net", "wrong password!"), ("who@nhs.net", PASSWORD)):
        with pytest.raises(SignInError) as error:
            staff.sign_in(email, password)
        assert str(error.value) == "wrong email or password"


def test_five_wrong_passwords_lock_the_account_for_15_minutes() -> None:
    staff, store, clock = _staff()
    _add(staff)
    for _ in range(4):
        with pytest.raises(SignInError, match="wrong email or password"):
            staff.sign_in("sam.smith@nhs.net", "not the password")
    with pytest.raises(SignInError, match="locked"):
        staff.sign_in("sam.smith@nhs.net", "not the password")
    with pytest.raises(SignInError, match="locked"):
        staff.sign_in("sam.smith@nhs.net", PASSWORD)  # even the right one, while locked
    assert [e.action for e in store.memory.all(Event)][-1] == "staff_locked"
    clock.now += timedelta(minutes=15, seconds=1)
    assert staff.sign_in("sam.smith@nhs.net", PASSWORD).email == "sam.smith@nhs.net"


def test_a_disabled_account_cannot_sign_in_and_its_sessions_end() -> None:
    staff, _, _ = _staff()
    _add(staff)
    assert staff.current("sam.smith@nhs.net") is not None
    staff.disable("sam.smith@nhs.net", actor="admin")
    assert staff.current("sam.smith@nhs.net") is None
    with pytest.raises(SignInError, match="wrong email or password"):
        staff.sign_in("sam.smith@nhs.net", PASSWORD)
    with pytest.raises(StaffError, match="no account"):
        staff.disable("nobody@nhs.net", actor="admin")


def test_what_each_role_may_decide_and_which_offices_it_sees() -> None:
    assert not may_set_status(Role.CASEWORKER, Status.APPROVED)
    assert not may_set_status(Role.CASEWORKER, Status.REJECTED)
    assert may_set_status(Role.CASEWORKER, Status.IN_REVIEW)
    assert may_set_status(Role.LEAD, Status.APPROVED) and may_set_status(
        Role.ADMIN, Status.REJECTED
    )
    assert sees_queue(["North"], "north/new") and not sees_queue(["North"], "london/new")
    assert not sees_queue(["North"], "enquiries")
    assert sees_office(["Midlands and East"], "Midlands and East")
    assert not sees_office(["North"], "London") and not sees_office(["North"], None)


def test_an_admin_gets_a_second_factor_and_needs_its_code() -> None:
    import pyotp

    from intake_bot.domain.staff import SecondFactorNeededError

    staff, store, clock = _staff()
    added = staff.add(
        "ada@nhs.net", name="Ada", offices=["North"], role="admin", password=PASSWORD, actor="x"
    )
    assert added.second_factor and added.totp_uri.startswith("otpauth://totp/")
    (account,) = store.memory.all(StaffAccount)
    assert account.totp_secret and account.totp_secret not in str(staff.list())
    with pytest.raises(SecondFactorNeededError):
        staff.sign_in("ada@nhs.net", PASSWORD)
    right = pyotp.TOTP(account.totp_secret).at(clock.now)
    with pytest.raises(SignInError, match="wrong code"):
        staff.second_factor("ada@nhs.net", "000000" if right != "000000" else "111111")
    (account,) = store.memory.all(StaffAccount)  # fetched again: a unit that raised rolled back
    assert account.failed_logins == 1
    assert staff.second_factor("ada@nhs.net", right).email == "ada@nhs.net"
    (account,) = store.memory.all(StaffAccount)
    assert account.failed_logins == 0 and account.last_login_at == clock.now
