"""mail sources: a message's location and a mailbox's cursor are opaque strings; poll status

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

A message was placed by (mailbox, uidvalidity, uid) and a mailbox's cursor was (uidvalidity,
last_uid): IMAP words. Now the mail source gives one opaque key per message and one opaque
cursor per mailbox. Rows carry over: an IMAP location becomes "uidvalidity:uid" and a cursor
"uidvalidity:last_uid", which is how the IMAP source writes them; Maildir rows (uidvalidity 0)
keep their key. The cursor table also records how each mailbox's last poll went.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from intake_bot.store.tables import UtcDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# IMAP UIDVALIDITY is never 0 (RFC 9051); the Maildir source used 0 with its own key as the uid.
_LOCATION = (
    "CASE WHEN uidvalidity = 0 THEN uid ELSE CAST(uidvalidity AS VARCHAR(20)) || ':' || uid END"
)


def upgrade() -> None:
    _upgrade_inbound_message()
    _upgrade_processing_attempt()
    _upgrade_mailbox_cursor()


def downgrade() -> None:
    _downgrade_mailbox_cursor()
    _downgrade_processing_attempt()
    _downgrade_inbound_message()


# -- inbound_message ------------------------------------------------------------------------------
# PostgreSQL alters the table in place. SQLite cannot drop a column that a UNIQUE constraint
# names, so it rebuilds the table; other tables point at it with foreign keys that are enforced,
# so the rows are put back under the same name before the transaction ends (deferred checks).

_AFTER_LOCATION = (
    "message_id, sha256, size, raw, from_addr, from_name, subject, sent_at, filed_at, outcome,"
    " queue, note, request_id"
)
_INDEXED = ("from_addr", "message_id", "outcome", "queue", "request_id")


def _inbound_table(location: list[sa.Column[Any]], unique: tuple[str, ...]) -> None:
    op.create_table(
        "inbound_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=1000), nullable=False),
        sa.Column("mailbox", sa.String(length=400), nullable=False),
        *location,
        sa.Column("message_id", sa.String(length=1000), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("from_addr", sa.String(length=320), nullable=False),
        sa.Column("from_name", sa.String(length=400), nullable=False),
        sa.Column("subject", sa.String(length=2000), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.Column("filed_at", UtcDateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("queue", sa.String(length=200), nullable=True),
        sa.Column("note", sa.String(length=4000), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
        sa.UniqueConstraint("mailbox", *unique, name="uq_inbound_location"),
    )
    for column in _INDEXED:
        op.create_index(f"ix_inbound_message_{column}", "inbound_message", [column])


def _rebuild_inbound_on_sqlite(
    location_select: str, location: list[sa.Column[Any]], unique: tuple[str, ...]
) -> None:
    names = ", ".join(c.name for c in location)
    # One transaction (a SAVEPOINT opens one even where the driver has not), with the foreign
    # keys checked when it ends: by then the rows are back under the same name.
    op.execute("SAVEPOINT rebuild_inbound_message")
    op.execute("PRAGMA defer_foreign_keys = ON")
    op.execute(
        "CREATE TABLE inbound_message_copy AS SELECT id, dedupe_key, mailbox,"
        f" {location_select}, {_AFTER_LOCATION} FROM inbound_message"
    )
    op.drop_table("inbound_message")
    _inbound_table(location, unique)
    op.execute(
        f"INSERT INTO inbound_message (id, dedupe_key, mailbox, {names}, {_AFTER_LOCATION})"
        f" SELECT id, dedupe_key, mailbox, {names}, {_AFTER_LOCATION} FROM inbound_message_copy"
    )
    op.drop_table("inbound_message_copy")
    op.execute("RELEASE rebuild_inbound_message")


def _is_sqlite() -> bool:
    return bool(op.get_bind().dialect.name == "sqlite")


def _upgrade_inbound_message() -> None:
    location = [sa.Column("location", sa.String(length=500), nullable=False)]
    if _is_sqlite():
        _rebuild_inbound_on_sqlite(f"{_LOCATION} AS location", location, ("location",))
        return
    op.add_column("inbound_message", sa.Column("location", sa.String(length=500), nullable=True))
    op.execute(f"UPDATE inbound_message SET location = {_LOCATION}")
    op.alter_column("inbound_message", "location", nullable=False)
    op.drop_constraint("uq_inbound_location", "inbound_message", type_="unique")
    op.drop_column("inbound_message", "uidvalidity")
    op.drop_column("inbound_message", "uid")
    op.create_unique_constraint("uq_inbound_location", "inbound_message", ["mailbox", "location"])


def _downgrade_inbound_message() -> None:
    old: list[sa.Column[Any]] = [
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.String(length=200), nullable=False),
    ]
    if _is_sqlite():
        # Every location is first its own uid (unique, as the locations are), then split below.
        _rebuild_inbound_on_sqlite("0 AS uidvalidity, location AS uid", old, ("uidvalidity", "uid"))
        _split_locations("inbound_message", "uid")
        return
    op.add_column("inbound_message", sa.Column("uidvalidity", sa.BigInteger(), nullable=True))
    op.add_column("inbound_message", sa.Column("uid", sa.String(length=200), nullable=True))
    op.execute("UPDATE inbound_message SET uidvalidity = 0, uid = location")
    _split_locations("inbound_message", "uid")
    op.alter_column("inbound_message", "uidvalidity", nullable=False)
    op.alter_column("inbound_message", "uid", nullable=False)
    op.drop_constraint("uq_inbound_location", "inbound_message", type_="unique")
    op.drop_column("inbound_message", "location")
    op.create_unique_constraint(
        "uq_inbound_location", "inbound_message", ["mailbox", "uidvalidity", "uid"]
    )


def _split_locations(table: str, column: str) -> None:
    """Rows whose `column` holds "uidvalidity:uid" get the two parts back (IMAP locations)."""
    conn = op.get_bind()
    rows = conn.execute(sa.text(f"SELECT id, {column} FROM {table}")).all()
    updates = [
        {"id": row_id, "uidvalidity": uidvalidity, "uid": uid}
        for row_id, location in rows
        for uidvalidity, uid in [_split(location)]
        if uidvalidity
    ]
    if updates:
        conn.execute(
            sa.text(f"UPDATE {table} SET uidvalidity = :uidvalidity, uid = :uid WHERE id = :id"),
            updates,
        )


def _split(location: str) -> tuple[int, str]:
    """ "uidvalidity:uid" back to its parts; any other key was a Maildir one (uidvalidity 0)."""
    head, sep, tail = location.partition(":")
    if sep and head.isdigit() and tail.isdigit():
        return int(head), tail
    return 0, location


# -- processing_attempt ---------------------------------------------------------------------------


def _upgrade_processing_attempt() -> None:
    op.create_table(
        "processing_attempt_new",
        sa.Column("mailbox", sa.String(length=400), nullable=False),
        sa.Column("location", sa.String(length=500), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("mailbox", "location", name="pk_processing_attempt"),
    )
    op.execute(
        "INSERT INTO processing_attempt_new (mailbox, location, attempts, last_error, updated_at)"
        f" SELECT mailbox, {_LOCATION}, attempts, last_error, updated_at FROM processing_attempt"
    )
    op.drop_table("processing_attempt")
    op.rename_table("processing_attempt_new", "processing_attempt")


def _downgrade_processing_attempt() -> None:
    op.create_table(
        "processing_attempt_old",
        sa.Column("mailbox", sa.String(length=400), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.String(length=200), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("mailbox", "uidvalidity", "uid", name="pk_processing_attempt_0001"),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT mailbox, location, attempts, last_error, updated_at FROM processing_attempt"
        )
    ).all()
    old = [
        {
            "mailbox": mailbox,
            "uidvalidity": uidvalidity,
            "uid": uid,
            "attempts": attempts,
            "last_error": last_error,
            "updated_at": updated_at,
        }
        for mailbox, location, attempts, last_error, updated_at in rows
        for uidvalidity, uid in [_split(location)]
    ]
    if old:
        conn.execute(
            sa.text(
                "INSERT INTO processing_attempt_old"
                " (mailbox, uidvalidity, uid, attempts, last_error, updated_at)"
                " VALUES (:mailbox, :uidvalidity, :uid, :attempts, :last_error, :updated_at)"
            ),
            old,
        )
    op.drop_table("processing_attempt")
    op.rename_table("processing_attempt_old", "processing_attempt")


# -- mailbox_cursor -------------------------------------------------------------------------------


def _upgrade_mailbox_cursor() -> None:
    with op.batch_alter_table("mailbox_cursor") as batch:
        batch.add_column(sa.Column("cursor", sa.Text(), nullable=True))
        batch.add_column(sa.Column("polled_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("poll_ok", sa.Boolean(), nullable=True))
        batch.add_column(
            sa.Column("poll_detail", sa.String(length=1000), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("failing_since", UtcDateTime(), nullable=True))
    op.execute(
        "UPDATE mailbox_cursor"
        " SET cursor = CAST(uidvalidity AS VARCHAR(20)) || ':' || CAST(last_uid AS VARCHAR(20))"
    )
    with op.batch_alter_table("mailbox_cursor") as batch:
        batch.alter_column("poll_detail", existing_type=sa.String(length=1000), server_default=None)
        batch.drop_column("uidvalidity")
        batch.drop_column("last_uid")


def _downgrade_mailbox_cursor() -> None:
    with op.batch_alter_table("mailbox_cursor") as batch:
        batch.add_column(sa.Column("uidvalidity", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("last_uid", sa.BigInteger(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT mailbox, cursor FROM mailbox_cursor")).all()
    old = [
        {"mailbox": mailbox, "uidvalidity": uidvalidity, "last_uid": int(uid)}
        for mailbox, cursor in rows
        for uidvalidity, uid in [_split(cursor or "")]
        if uidvalidity
    ]
    if old:
        conn.execute(
            sa.text(
                "UPDATE mailbox_cursor SET uidvalidity = :uidvalidity, last_uid = :last_uid"
                " WHERE mailbox = :mailbox"
            ),
            old,
        )
    # A mailbox without an IMAP cursor (Maildir, or only a poll status) has no old form.
    op.execute("DELETE FROM mailbox_cursor WHERE uidvalidity IS NULL")
    with op.batch_alter_table("mailbox_cursor") as batch:
        batch.alter_column("uidvalidity", existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column("last_uid", existing_type=sa.BigInteger(), nullable=False)
        batch.drop_column("cursor")
        batch.drop_column("polled_at")
        batch.drop_column("poll_ok")
        batch.drop_column("poll_detail")
        batch.drop_column("failing_since")
