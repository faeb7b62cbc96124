"""The SQL repository of the ODS organisation list (`ports_ods.OrganisationRepository`)."""

from __future__ import annotations

from sqlalchemy import func, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from intake_bot.domain.organisations import (
    WITHDRAWN,
    OdsError,
    OdsOrganisation,
    OrganisationIndex,
    Succession,
    SuccessionReview,
)
from intake_bot.store.ods_tables import OdsOrganisationRow, OdsReviewRow, OdsSuccessionRow

_LIST_LOCK = 0x0D5  # any fixed number: the one advisory lock an ODS import holds
# How long an import or a decision waits for the list (SQLite's busy timeout for every writer):
# one that hangs holding it is not waited on for ever, and the one waiting says why it stopped.
LIST_LOCK_WAIT_MS = 30_000


class SqlOrganisations:
    def __init__(self, session: Session, is_postgres: bool) -> None:
        self.session = session
        self.is_postgres = is_postgres

    def lock_list(self, wait_ms: int | None = None) -> None:
        """Wait (`wait_ms`, by default LIST_LOCK_WAIT_MS, at most) until no other import or
        decision holds the list; OdsError, with nothing written, when it is still held."""
        wait = LIST_LOCK_WAIT_MS if wait_ms is None else wait_ms
        run = self.session.execute
        try:
            if self.is_postgres:  # for this transaction only, then as it was
                was = run(text("SELECT current_setting('lock_timeout')")).scalar()
                run(text("SELECT set_config('lock_timeout', :ms, true)"), {"ms": f"{wait}ms"})
                run(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LIST_LOCK})
                run(text("SELECT set_config('lock_timeout', :was, true)"), {"was": was})
                return
            # The first statement a write: the unit waits for any other writer, then reads.
            before = run(text("PRAGMA busy_timeout")).scalar()
            run(text(f"PRAGMA busy_timeout = {int(wait)}"))
            try:
                run(text("DELETE FROM ods_succession WHERE 0 = 1"))
            finally:
                run(text(f"PRAGMA busy_timeout = {int(before or 0)}"))
        except OperationalError as exc:
            if not _waited_too_long(exc):
                raise  # the connection or the server: the unit says so as for any statement
            held = (
                "another ODS import or decision held the organisation list"
                if self.is_postgres
                else "another writer held the database"
            )
            raise OdsError(
                f"{held} for {wait / 1000:g} s; nothing was changed: try again when it has finished"
            ) from exc

    def all(self) -> list[OdsOrganisation]:
        stmt = select(OdsOrganisation).order_by(col(OdsOrganisationRow.code))
        return list(self.session.exec(stmt))

    def successions(self) -> list[Succession]:
        stmt = select(Succession).order_by(col(OdsSuccessionRow.id))
        return list(self.session.exec(stmt))

    def drop_succession(self, succession: Succession) -> None:
        self.session.delete(succession)

    def index(self, config_codes: frozenset[str]) -> frozenset[str]:
        records, successions = self.all(), self.successions()
        if not records and not successions:
            return config_codes
        return OrganisationIndex(config_codes, records, successions)

    def reviews(self, status: str | None = None) -> list[SuccessionReview]:
        stmt = select(SuccessionReview).order_by(col(OdsReviewRow.id))
        if status is not None:
            stmt = stmt.where(col(OdsReviewRow.status) == status)
        return list(self.session.exec(stmt))

    def review(self, review_id: int) -> SuccessionReview | None:
        return self.session.get(SuccessionReview, review_id)

    def count_reviews(self, status: str) -> int:
        stmt = select(func.count()).select_from(OdsReviewRow)
        stmt = stmt.where(col(OdsReviewRow.status) == status)
        return int(self.session.exec(stmt).one())

    def reviewed(self) -> set[tuple[int, str]]:
        stmt = select(OdsReviewRow.relationship_id, OdsReviewRow.closed_code).where(
            col(OdsReviewRow.status) != WITHDRAWN
        )
        return {(int(rel), str(code)) for rel, code in self.session.exec(stmt)}


def _waited_too_long(exc: OperationalError) -> bool:
    """Whether the database gave up waiting for a lock: PostgreSQL's lock_timeout (SQLSTATE
    55P03), SQLite's busy timeout ("database is locked")."""
    return getattr(exc.orig, "sqlstate", None) == "55P03" or "locked" in str(exc.orig)
