"""Staff accounts of the web console: add, list, disable, and signing in.

Passwords are kept only as argon2 hashes. Five wrong passwords in a row lock an account for 15
minutes (`domain.staff`); a failed sign-in never says whether the email or the password was
wrong. Adding and disabling accounts are audit events naming who did it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email

from intake_bot.domain.records import StaffAccount
from intake_bot.domain.staff import (
    LOCK_AFTER,
    LOCKED_FOR,
    MIN_PASSWORD,
    Role,
    SecondFactorNeededError,
    SignInError,
    StaffError,
    StaffMember,
)
from intake_bot.domain.triage import Office
from intake_bot.ports import Clock, Store, Unit
from intake_bot.services import audit

_WRONG = "wrong email or password"
TOTP_ISSUER = "DSfC legitimate relationships"
_CODE_NEEDED = "enter the 6-digit code from your authenticator app"


class Staff:
    """The staff accounts use case."""

    def __init__(
        self, *, store: Store, clock: Clock, offices: Sequence[Office], hasher: PasswordHasher
    ) -> None:
        self.store = store
        self.clock = clock
        self.offices = tuple(offices)
        self.hasher = hasher
        # Checked when no account has the email: an unknown email takes as long to refuse as a
        # wrong password, so the time taken tells nothing. Made on first use (hashing is slow).
        self._nobody: str | None = None

    def add(
        self,
        email: str,
        *,
        name: str,
        offices: Sequence[str],
        role: str,
        password: str,
        actor: str,
    ) -> StaffMember:
        """A new account; refused with the reason when any part of it is wrong."""
        address = _valid_email(email)
        with self.store.unit() as unit:  # the database first: the operator's problem comes first
            if unit.staff.by_email(address) is not None:
                raise StaffError(f"{address} has an account already")
        if not name.strip():
            raise StaffError("give the person's name with --name")
        known = self._offices(offices)
        try:
            chosen = Role(role.strip().lower())
        except ValueError:
            raise StaffError(f"no role {role!r}: one of {', '.join(Role)}") from None
        if len(password) < MIN_PASSWORD:
            raise StaffError(f"the password must have at least {MIN_PASSWORD} characters")
        now = self.clock()
        # Admins change who may do what: they sign in with an authenticator's code as well.
        secret = pyotp.random_base32() if chosen is Role.ADMIN else None
        with self.store.unit() as unit:
            if unit.staff.by_email(address) is not None:  # added since: the unique index says too
                raise StaffError(f"{address} has an account already")
            account = unit.add(
                StaffAccount(
                    email=address,
                    name=name.strip(),
                    role=chosen.value,
                    offices=list(known),
                    password_hash=self.hasher.hash(password),
                    created_at=now,
                    totp_secret=secret,
                )
            )
            note = f"{address} added as {chosen} for {', '.join(known)}"
            audit.record(unit, action="staff_added", at=now, actor=actor, note=note)
            added = member(account)
        if secret is None:
            return added
        uri = pyotp.TOTP(secret).provisioning_uri(name=address, issuer_name=TOTP_ISSUER)
        return replace(added, totp_uri=uri)

    def list(self) -> list[StaffMember]:
        with self.store.unit() as unit:
            return [member(a) for a in unit.staff.all()]

    def disable(self, email: str, *, actor: str) -> StaffMember:
        """The account can no longer sign in; its sessions end at their next request."""
        now = self.clock()
        with self.store.unit() as unit:
            account = unit.staff.by_email(email)
            if account is None:
                raise StaffError(f"no account {email.strip().lower()!r}")
            account.disabled = True
            audit.record(unit, action="staff_disabled", at=now, actor=actor, note=account.email)
            return member(account)

    def current(self, email: str) -> StaffMember | None:
        """The account a session names, while it may still be used (not disabled)."""
        with self.store.unit() as unit:
            account = unit.staff.by_email(email)
            return member(account) if account is not None and not account.disabled else None

    def sign_in(self, email: str, password: str) -> StaffMember:
        """The account, when `password` is its password; SignInError otherwise."""
        now = self.clock()
        with self.store.unit() as unit:
            account = unit.staff.by_email(email)
            if account is None or account.disabled:
                self._nobody = self._nobody or self.hasher.hash("no account has this email")
                self._verify(self._nobody, password)
                raise SignInError(_WRONG)
            if account.locked_until is not None and account.locked_until > now:
                raise SignInError(_locked(account.locked_until))
            if self._verify(account.password_hash, password):
                if account.totp_secret:  # nothing counted yet: the code decides (second_factor)
                    raise SecondFactorNeededError(_CODE_NEEDED)
                account.failed_logins, account.locked_until, account.last_login_at = 0, None, now
                return member(account)
            refused = self._count_failure(unit, account, now, _WRONG)
        raise refused  # once the unit has committed the count

    def single_sign_on(self, email: str) -> StaffMember:
        """The account of an address the identity provider vouched for (single sign-on): it
        must have been made here, and not be disabled or locked; an admin still gives a code."""
        now = self.clock()
        with self.store.unit() as unit:
            account = unit.staff.by_email(email)
            if account is None or account.disabled:
                raise SignInError(f"{email.strip().lower()} has no account here: ask an admin")
            if account.locked_until is not None and account.locked_until > now:
                raise SignInError(_locked(account.locked_until))
            if account.totp_secret:
                raise SecondFactorNeededError(_CODE_NEEDED)
            account.failed_logins, account.last_login_at = 0, now
            return member(account)

    def second_factor(self, email: str, code: str) -> StaffMember:
        """The account, once its password was right (`sign_in` said so) and `code` is its
        authenticator's current one; a wrong code counts as a wrong password."""
        now = self.clock()
        with self.store.unit() as unit:
            account = unit.staff.by_email(email)
            if account is None or account.disabled or not account.totp_secret:
                raise SignInError(_WRONG)
            if account.locked_until is not None and account.locked_until > now:
                raise SignInError(_locked(account.locked_until))
            totp = pyotp.TOTP(account.totp_secret)
            if totp.verify(code.strip().replace(" ", ""), for_time=now, valid_window=1):
                account.failed_logins, account.locked_until, account.last_login_at = 0, None, now
                return member(account)
            refused = self._count_failure(unit, account, now, "wrong code")
        raise refused

    def _count_failure(
        self, unit: Unit, account: StaffAccount, now: datetime, why: str
    ) -> SignInError:
        """One more wrong password or code; the error to raise once the unit has committed."""
        account.failed_logins += 1
        if account.failed_logins < LOCK_AFTER:
            return SignInError(why)
        account.locked_until, account.failed_logins = now + LOCKED_FOR, 0
        audit.record(unit, action="staff_locked", at=now, note=account.email)
        return SignInError(_locked(account.locked_until))

    def _verify(self, hashed: str, password: str) -> bool:
        try:
            return self.hasher.verify(hashed, password)
        except (VerificationError, InvalidHashError):
            return False

    def _offices(self, names: Sequence[str]) -> tuple[str, ...]:
        if not names:
            raise StaffError("name at least one regional office with --office")
        found = []
        for name in names:
            office = next((o for o in self.offices if o.is_called(name)), None)
            if office is None:
                known = ", ".join(o.name for o in self.offices)
                raise StaffError(f"no regional office {name!r}: one of {known}")
            found.append(office.name)
        return tuple(dict.fromkeys(found))


def member(account: StaffAccount) -> StaffMember:
    return StaffMember(
        email=account.email,
        name=account.name,
        role=Role(account.role),
        offices=tuple(account.offices),
        disabled=account.disabled,
        locked_until=account.locked_until,
        last_login_at=account.last_login_at,
        second_factor=bool(account.totp_secret),
    )


def _valid_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise StaffError(f"{email!r} is not an email address: {exc}") from None


def _locked(until: datetime) -> str:
    return (
        f"this account is locked after {LOCK_AFTER} wrong passwords in a row; "
        f"try again after {until:%H:%M} UTC"
    )
