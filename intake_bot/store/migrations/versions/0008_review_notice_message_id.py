"""ods_review.notice_message_id: the email that told a relationship's contacts of the review, so
that the decision's email is threaded on it

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "ods_review", sa.Column("notice_message_id", sa.String(length=500), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("ods_review", "notice_message_id")
