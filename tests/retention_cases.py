"""The messages the retention tests purge or keep, seeded through the store port, so that the
same cases run on the in-memory fakes and on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from intake_bot.domain.records import Attachment, InboundMessage, Request
from intake_bot.ports import Store

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Seeded:
    """Inbound ids by case: `purge` ones are due, `keep` ones are not."""

    purge: dict[str, int]
    keep: dict[str, int]
    requests: dict[str, int]  # request ids by case


def _message(name: str, now: datetime, **fields: object) -> InboundMessage:
    raw = f"Subject: {name}\r\n\r\nbody of {name}\r\n".encode()
    values: dict[str, object] = {
        "dedupe_key": f"<{name}@test>",
        "mailbox": "enquiries",
        "location": name,
        "sha256": "0" * 64,
        "size": len(raw),
        "raw": raw,
        "filed_at": now,
        "outcome": "filed",
        **fields,
    }
    return InboundMessage(**values)  # type: ignore[arg-type]


def seed(store: Store, now: datetime, closed_days: int = 730) -> Seeded:
    """Every case: old and recent closed requests, an open one, a mixed bulk email, a reply,
    reviewed and unreviewed patient-data holds, an ordinary quarantined message."""
    old = now - (closed_days + 1) * DAY
    recent = now - (closed_days - 1) * DAY
    purge: dict[str, int] = {}
    keep: dict[str, int] = {}
    requests: dict[str, int] = {}
    with store.unit() as unit:

        def message(bucket: dict[str, int], name: str, **fields: object) -> InboundMessage:
            m = unit.add(_message(name, now, **fields))
            unit.flush()
            assert m.id is not None
            bucket[name] = m.id
            unit.add(
                Attachment(m.id, f"{name}.docx", "application/x", 4, "0" * 64, b"form", "form")
            )
            return m

        def request(name: str, m: InboundMessage, status: str, updated: datetime) -> Request:
            assert m.id is not None
            r = unit.add(Request(m.id, "f.docx", status, "North/new", old, updated))
            unit.flush()
            assert r.id is not None
            requests[name] = r.id
            m.request_id = m.request_id or r.id
            return r

        closed_long_ago = message(purge, "closed_long_ago")
        approved = request("closed_long_ago", closed_long_ago, "approved", old)
        message(purge, "reply_to_closed", outcome="reply", request_id=approved.id)
        request("closed_recently", message(keep, "closed_recently"), "rejected", recent)
        request("open", message(keep, "open"), "in_review", old)
        bulk = message(keep, "bulk_one_open")
        request("bulk_closed", bulk, "withdrawn", old)
        request("bulk_open", bulk, "triaged", old)
        hold = "quarantined: patient data (an NHS number) in the body"
        message(purge, "hold_reviewed", outcome="quarantined", queue=None, note=hold)
        message(keep, "hold_waiting", outcome="quarantined", queue="quarantine", note=hold)
        message(keep, "poison_reviewed", outcome="quarantined", queue=None, note="failed 3 times")
    return Seeded(purge, keep, requests)
