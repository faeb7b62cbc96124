"""The database's set-up: its schema, and the reference data that `config/` describes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from intake_bot.domain.records import Approval, Organisation
from intake_bot.errors import OperatorError
from intake_bot.ports import Schema, Store

ReferenceData = tuple[list[Organisation], list[Approval]]


class SchemaOutOfDateError(OperatorError):
    """A shared database whose schema is behind the code: the operator runs `db upgrade`."""


@dataclass(frozen=True)
class SchemaState:
    current: str | None
    head: str | None
    organisations: int = 0  # loaded by this call
    approvals: int = 0  # seeded by this call (only into an empty approvals register)

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


@dataclass(kw_only=True)
class Database:
    store: Store
    schema: Schema
    config_reference: Callable[[], ReferenceData]  # what config/ says (organisations, approvals)

    def status(self) -> SchemaState:
        return SchemaState(self.schema.current(), self.schema.head())

    def upgrade(self) -> SchemaState:
        """Bring the schema up to date and load the reference data from config/."""
        self.schema.upgrade()
        orgs, approvals = self.load_reference_data()
        return SchemaState(self.schema.current(), self.schema.head(), orgs, approvals)

    def ensure_ready(self) -> None:
        """The embedded SQLite needs no set-up step; a shared database needs `db upgrade`."""
        if self.schema.current() == self.schema.head():
            return
        if not self.schema.embedded:
            raise SchemaOutOfDateError(
                "database.url: the database schema is not up to date: run `intake-bot db upgrade`"
            )
        self.upgrade()

    def load_reference_data(self) -> tuple[int, int]:
        """Organisations (always) and the seeded s251 approvals (into an empty register only)."""
        orgs, approvals = self.config_reference()
        seeded = 0
        with self.store.unit() as unit:
            for org in orgs:
                unit.reference.upsert_organisation(org)
            if unit.reference.count_approvals() == 0:
                for approval in approvals:
                    unit.add(approval)
                seeded = len(approvals)
        return len(orgs), seeded
