"""The tables of the ODS organisation list, its successions and the staff's succession reviews.
Changes here need an Alembic migration (store/migrations/versions)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from intake_bot.store.tables import _utc, _utc_null


class OdsOrganisationRow(SQLModel, table=True):
    """An organisation as ODS last published it (domain.organisations.OdsOrganisation)."""

    __tablename__ = "ods_organisation"
    code: str = Field(primary_key=True, max_length=12)
    name: str = Field(max_length=400)
    kind: str = Field(default="other", max_length=40)
    role: str = Field(default="", max_length=12)
    opened_on: date | None = None
    closed_on: date | None = Field(default=None, index=True)
    parent: str | None = Field(default=None, max_length=12)
    postcode: str = Field(default="", max_length=10)
    former_names: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    updated_at: datetime | None = Field(default=None, sa_column=_utc_null())


class OdsSuccessionRow(SQLModel, table=True):
    """ODS's word that one code took over from another."""

    __tablename__ = "ods_succession"
    __table_args__ = (UniqueConstraint("old_code", "new_code", name="uq_ods_succession"),)
    id: int | None = Field(default=None, primary_key=True)
    old_code: str = Field(max_length=12, index=True)
    new_code: str = Field(max_length=12)
    effective_on: date | None = None
    reason: str = Field(default="", max_length=60)


class OdsReviewRow(SQLModel, table=True):
    """A relationship whose organisation closed: carry over or end, as staff decide."""

    __tablename__ = "ods_review"
    __table_args__ = (UniqueConstraint("relationship_id", "closed_code", name="uq_ods_review"),)
    id: int | None = Field(default=None, primary_key=True)
    relationship_id: int = Field(foreign_key="relationship.id", index=True)
    reference: str = Field(max_length=20)
    party: str = Field(max_length=20)
    closed_code: str = Field(max_length=12)
    closed_on: date | None = None
    successors: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="open", max_length=20, index=True)
    created_at: datetime = Field(sa_column=_utc())
    decided_at: datetime | None = Field(default=None, sa_column=_utc_null())
    decided_by: str = Field(default="", max_length=200)
    note: str = Field(default="", max_length=2000)
    notice_message_id: str | None = Field(default=None, max_length=500)
    carried_to: str | None = Field(default=None, max_length=12)
    effective_on: date | None = None
