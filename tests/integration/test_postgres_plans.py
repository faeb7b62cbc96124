"""On PostgreSQL the lookup made for every email stays an index lookup as the archive grows.

psycopg prepares a statement on the server after five runs, and the server then keeps a generic
plan for it while the connection lives. A plan made while the table was empty must not be a scan
of the whole table: with autovacuum off or behind, nothing would replan it, and every email would
cost more than the one before (0.45 ms at 1,000 archived emails, 4.6 ms at 10,000).
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from intake_bot.ports import MessageRef
from intake_bot.store import migrate
from intake_bot.store.store import Store

pytestmark = pytest.mark.integration

ARCHIVED = 3_000


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # SQLite plans afresh
def test_finding_a_filed_email_is_an_index_lookup_after_the_table_grows(database_url: str) -> None:
    store = Store.from_url(database_url)
    try:
        migrate.upgrade(store)
        for n in range(20):  # the first emails: prepared at the 6th, a generic plan after 5 more
            with store.unit() as unit:
                assert unit.messages.find(MessageRef("INBOX", f"new/{n}"), f"<{n}@x.test>") is None
            _archive(store, f"new/{n}", f"<{n}@x.test>")
        _archive(store, "cur/", "@archive.test", count=ARCHIVED)
        with store.unit() as unit:  # still found by location and by key, as before
            found = unit.messages.find(MessageRef("INBOX", "cur/7"), "<none@x.test>")
            assert found is not None and found.dedupe_key == "7@archive.test"
            again = unit.messages.find(MessageRef("INBOX", "elsewhere"), "8@archive.test")
            assert again is not None and again.location == "cur/8"
        with store.engine.connect() as conn:
            prepared = conn.execute(
                text(
                    "SELECT name, parameter_types::text[]"
                    " FROM pg_prepared_statements"
                    " WHERE statement LIKE '%dedupe_key%' AND statement LIKE '%location%'"
                )
            ).all()
            assert prepared, "the lookup was not prepared: nothing here was tested"
            for name, types in prepared:  # the plan it would run now (kept or made afresh)
                params = ", ".join("'cur/9'" if "char" in t else "1" for t in types)
                plan = conn.execute(text(f"EXPLAIN EXECUTE {name}({params})")).scalars().all()
                assert not any("Seq Scan" in line for line in plan), "\n".join(plan)
    finally:
        store.dispose()


def _archive(store: Store, location: str, key: str, count: int = 0) -> None:
    """One archived email at `location` under `key`, or `count` of them, numbered after each."""
    rows = "generate_series(1, :count)" if count else "(VALUES (''))"
    number = "n::text" if count else "''"
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO inbound_message (dedupe_key, mailbox, location, sha256, size, raw,"
                " from_addr, from_name, subject, filed_at, outcome, note)"
                f" SELECT {number} || :key, 'INBOX', :location || {number}, 'x', 10, 'raw',"
                f" 'a@b.test', '', 'subject', now(), 'filed', '' FROM {rows} AS t(n)"
            ),
            {"count": count, "key": key, "location": location},
        )
