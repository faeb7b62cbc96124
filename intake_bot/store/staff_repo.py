"""`ports.StaffRepository` on SQLAlchemy: the web console's staff accounts."""

from __future__ import annotations

from sqlmodel import Session, col, select

from intake_bot.domain.records import StaffAccount
from intake_bot.store.tables import StaffAccountRow


class SqlStaff:
    def __init__(self, session: Session, is_postgres: bool) -> None:
        self.session = session

    def by_email(self, email: str) -> StaffAccount | None:
        stmt = select(StaffAccount).where(col(StaffAccountRow.email) == email.strip().lower())
        return self.session.exec(stmt).first()

    def all(self) -> list[StaffAccount]:
        return list(self.session.exec(select(StaffAccount).order_by(col(StaffAccountRow.email))))
