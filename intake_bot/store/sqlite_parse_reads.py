"""What `intake-bot parse` reads, from an SQLite file with the standard library's driver
(`ports_reads.ParseReads`).

A preview reads the organisations, the s251 approvals, ODS's list and, for a reply or a change to
a relationship, a few requests and the register; it writes nothing. Through SQLAlchemy and the
ORM mapping it would spend ~0.3 s importing them first. These are the repositories' queries
(`store/repositories.py`, `store/register_repos.py`, `store/ods_repo.py`), rows made into the
same records (`store/sqlite_direct.py`), as `store/sqlite_reads.py` does for the queue listing;
`tests/integration/test_sqlite_parse_reads.py` checks that both ways read the same. Any
other database, or a file that is not there yet, goes through the store as usual.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from intake_bot.domain.organisations import OdsOrganisation, OrganisationIndex, Succession
from intake_bot.domain.records import (
    Approval,
    Organisation,
    Relationship,
    RelationshipVersion,
    Request,
)
from intake_bot.domain.status import Status
from intake_bot.ports import StoreError
from intake_bot.ports_reads import OpenParseReads
from intake_bot.store.sqlite_direct import as_records, from_file_or, select_sql

_CONTACT_KEYS = ("requester_email", "authoriser_email")


def parse_reads(url: str, otherwise: OpenParseReads) -> OpenParseReads:
    """Reads straight from the file when `url` names an SQLite file that exists, else
    `otherwise` (the store's unit)."""
    return from_file_or(url, otherwise, _Reads)


class _Reads:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.reference = _Reference(conn)
        self.organisations = _Organisations(conn)
        self.requests = _Requests(conn)
        self.register = _Register(conn, self.reference)


class _Reference:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def organisations(self, codes: Sequence[str] | None = None) -> list[Organisation]:
        sql, params = select_sql(Organisation, "organisation"), list(codes or ())
        if codes is not None:
            sql += f" WHERE ods IN ({', '.join('?' * len(params))})"
        return as_records(Organisation, self.conn.execute(sql + " ORDER BY ods", params))

    def approvals(self) -> list[Approval]:
        rows = self.conn.execute(f"{select_sql(Approval, 'approval')} ORDER BY reference")
        return as_records(Approval, rows)


class _Organisations:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def index(self, config_codes: frozenset[str]) -> frozenset[str]:
        sql = f"{select_sql(OdsOrganisation, 'ods_organisation')} ORDER BY code"
        records = as_records(OdsOrganisation, self.conn.execute(sql))
        sql = f"{select_sql(Succession, 'ods_succession')} ORDER BY id"
        successions = as_records(Succession, self.conn.execute(sql))
        if not records and not successions:
            return config_codes
        return OrganisationIndex(config_codes, records, successions)


class _Requests:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def get(self, request_id: int) -> Request | None:
        sql = f"{select_sql(Request, 'request')} WHERE id = ?"
        found = as_records(Request, self.conn.execute(sql, (request_id,)))
        return found[0] if found else None

    def for_outgoing(self, message_ids: Sequence[str]) -> int | None:
        if not message_ids:
            return None
        marks = ", ".join("?" * len(message_ids))
        sql = f"SELECT request_id, inbound_id FROM outbox WHERE message_id IN ({marks})"
        for request_id, inbound_id in self.conn.execute(sql, list(message_ids)).fetchall():
            if request_id is not None:
                return int(request_id)
            if inbound_id is not None:
                first = self.conn.execute(
                    "SELECT id FROM request WHERE inbound_id = ? ORDER BY id LIMIT 1", (inbound_id,)
                ).fetchone()
                if first:
                    return int(first[0])
        return None


class _Register:
    def __init__(self, conn: sqlite3.Connection, reference: _Reference) -> None:
        self.conn = conn
        self._reference = reference

    def by_reference(self, reference: str) -> Relationship | None:
        sql = f"{select_sql(Relationship, 'relationship')} WHERE reference = ? LIMIT 1"
        found = as_records(Relationship, self.conn.execute(sql, (reference,)))
        return found[0] if found else None

    def contacts_for(self, relationship: Relationship) -> set[str]:
        # As `SqlRegister.contacts_for`: the requester and authoriser of every version and of
        # every approved request linked to it, and the contacts of the current one's organisations.
        assert relationship.id is not None
        sql = f"{select_sql(RelationshipVersion, 'relationship_version')} WHERE relationship_id = ?"
        rows = self.conn.execute(sql + " ORDER BY version", (relationship.id,))
        versions = as_records(RelationshipVersion, rows)
        found: set[str] = set()
        for version in versions:
            found |= _addresses(version.values)
        sql = f"{select_sql(Request, 'request')} WHERE relationship_id = ? AND status = ?"
        rows = self.conn.execute(sql, (relationship.id, Status.APPROVED.value))
        for request in as_records(Request, rows):
            found |= _addresses({**request.values, "requester_email": request.requester_email})
        current = [v for v in versions if v.version == relationship.current_version]
        if not current:
            missing = f"{relationship.reference} has no version {relationship.current_version}"
            raise StoreError(missing)
        values = current[0].values
        codes = sorted(
            {str(values[k]) for k in ("commissioner_ods", "processor_ods") if values.get(k)}
        )
        if codes:
            for org in self._reference.organisations(codes):
                found |= _clean(org.contacts)
        return found


def _addresses(values: dict[str, object]) -> set[str]:
    return _clean(values.get(key) for key in _CONTACT_KEYS)


def _clean(addresses: Iterable[object]) -> set[str]:
    return {a.strip().lower() for a in addresses if isinstance(a, str) and a.strip()}
