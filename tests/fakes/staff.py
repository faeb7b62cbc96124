"""`ports.StaffRepository` in memory."""

from __future__ import annotations

from intake_bot.domain.records import StaffAccount
from tests.fakes import Memory


class FakeStaff:
    def __init__(self, memory: Memory) -> None:
        self.accounts = memory.all(StaffAccount)

    def by_email(self, email: str) -> StaffAccount | None:
        wanted = email.strip().lower()
        return next((a for a in self.accounts if a.email == wanted), None)

    def all(self) -> list[StaffAccount]:
        return sorted(self.accounts, key=lambda a: a.email)
