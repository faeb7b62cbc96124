"""mailbox_cursor.poll_seconds: how long each mailbox's last poll took (for /metrics)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("mailbox_cursor", sa.Column("poll_seconds", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("mailbox_cursor", "poll_seconds")
