"""PostgreSQL keeps archived emails, attachments and queued replies out of line uncompressed

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05

These columns hold base64 text and zip files (Word and Excel forms), which pglz, PostgreSQL's
default TOAST compression, tries and fails to shrink: about 1 ms of the server's time a message
for no bytes saved (measured: 92 KB a filed message either way). STORAGE EXTERNAL keeps them out
of line without trying. Rows already stored keep their form; SQLite has no such setting.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BYTES_COLUMNS = (("inbound_message", "raw"), ("attachment", "data"), ("outbox", "raw"))


def upgrade() -> None:
    _set_storage("EXTERNAL")


def downgrade() -> None:
    _set_storage("EXTENDED")  # PostgreSQL's default: compressed, then out of line


def _set_storage(storage: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in BYTES_COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET STORAGE {storage}")
