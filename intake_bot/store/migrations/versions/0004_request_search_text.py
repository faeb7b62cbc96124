"""request.search_text and request.office: what the console's search looks in, as one plain
lower-case column, and the office part of the queue;
indexes for the counts per queue and for a search

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05

Searching the form's JSON for an organisation's name read 50,000 JSON documents a search (about
two seconds); one text column reads in a few milliseconds. Existing rows are filled here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from intake_bot.store.request_queries import search_text

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 2000


def upgrade() -> None:
    op.create_index("ix_request_status_queue_due", "request", ["status", "queue", "due_on"])
    op.add_column("request", sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    op.add_column(
        "request", sa.Column("office", sa.String(length=200), nullable=False, server_default="")
    )
    request = sa.table(
        "request",
        sa.column("id", sa.Integer),
        sa.column("values", sa.JSON),
        sa.column("sender_email", sa.String),
        sa.column("search_text", sa.Text),
        sa.column("queue", sa.String),
        sa.column("office", sa.String),
    )
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.select(request.c.id, request.c["values"], request.c.sender_email, request.c.queue)
            .where(request.c.id > last)
            .order_by(request.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        for row_id, values, sender, queue in rows:
            conn.execute(
                request.update()
                .where(request.c.id == row_id)
                .values(
                    search_text=search_text(values or {}, sender or ""),
                    office=(queue or "").partition("/")[0],
                )
            )
        last = rows[-1][0]
    # After the fill: one build of the index rather than an update of it per row.
    op.create_index("ix_request_search", "request", ["status", "office", "search_text", "id"])


def downgrade() -> None:
    op.drop_index("ix_request_search", table_name="request")
    op.drop_column("request", "office")
    op.drop_column("request", "search_text")
    op.drop_index("ix_request_status_queue_due", table_name="request")
