"""ODS organisations, their successions, and the staff's succession reviews

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from intake_bot.store.tables import UtcDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ods_organisation",
        sa.Column("code", sa.String(length=12), primary_key=True),
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("parent", sa.String(length=12), nullable=True),
        sa.Column("postcode", sa.String(length=10), nullable=False),
        sa.Column("former_names", sa.JSON(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_ods_organisation_closed_on", "ods_organisation", ["closed_on"])
    op.create_table(
        "ods_succession",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("old_code", sa.String(length=12), nullable=False),
        sa.Column("new_code", sa.String(length=12), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(length=60), nullable=False),
        sa.UniqueConstraint("old_code", "new_code", name="uq_ods_succession"),
    )
    op.create_index("ix_ods_succession_old_code", "ods_succession", ["old_code"])
    op.create_table(
        "ods_review",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "relationship_id", sa.Integer(), sa.ForeignKey("relationship.id"), nullable=False
        ),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("party", sa.String(length=20), nullable=False),
        sa.Column("closed_code", sa.String(length=12), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("successors", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=False),
        sa.UniqueConstraint("relationship_id", "closed_code", name="uq_ods_review"),
    )
    op.create_index("ix_ods_review_relationship_id", "ods_review", ["relationship_id"])
    op.create_index("ix_ods_review_status", "ods_review", ["status"])


def downgrade() -> None:
    op.drop_index("ix_ods_review_status", table_name="ods_review")
    op.drop_index("ix_ods_review_relationship_id", table_name="ods_review")
    op.drop_table("ods_review")
    op.drop_index("ix_ods_succession_old_code", table_name="ods_succession")
    op.drop_table("ods_succession")
    op.drop_index("ix_ods_organisation_closed_on", table_name="ods_organisation")
    op.drop_table("ods_organisation")
