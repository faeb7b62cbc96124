"""ods_review.carried_to and effective_on: where a decision carried the relationship and from
which day (a carry may go one step along a chain, and never before the successor opened), so
that the review list and the decision's email say what the register records

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("ods_review", sa.Column("carried_to", sa.String(length=12), nullable=True))
    op.add_column("ods_review", sa.Column("effective_on", sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column("ods_review", "effective_on")
    op.drop_column("ods_review", "carried_to")
