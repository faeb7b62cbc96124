"""On SQLite `intake-bot parse` reads with the standard library's driver
(`store/sqlite_parse_reads.py`): it must read exactly what the store's repositories read, and so
preview exactly the same."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from intake_bot.bootstrap import App
from intake_bot.domain.organisations import OrganisationIndex
from intake_bot.domain.records import Relationship
from intake_bot.ports import StoreError
from intake_bot.samples import DOCX, docx_form, email, new_request, xlsx_request
from tests.conftest import FrozenClock
from tests.ods_files import sub_icb_files
from tests.register_cases import approved_relationship

pytestmark = pytest.mark.integration
APRIL_2016 = datetime(2016, 4, 1, 9, tzinfo=UTC)
MAY_2026 = datetime(2026, 5, 1, 9, tzinfo=UTC)
LEEDS = {"commissioner_ods": "03G", "commissioner_name": "NHS Leeds South and East CCG"}
_uids = itertools.count(1)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'intake.db'}"


def _filled(app: App, clock: FrozenClock, tmp_path: Path) -> tuple[Relationship, list[str]]:
    """A register with a relationship, ODS's list with a succession, and the outbox's
    Message-IDs (to reply to)."""
    clock.now = APRIL_2016
    rel = approved_relationship(app, _uids, **LEEDS)
    clock.now = MAY_2026
    app.organisations.import_files(sub_icb_files(tmp_path), actor="op")
    database = app.settings.database_url().removeprefix("sqlite:///")
    with sqlite3.connect(database) as conn:
        ids = [mid for (mid,) in conn.execute("SELECT message_id FROM outbox ORDER BY id")]
    return rel, ids


def _plain(records: list[Any]) -> list[dict[str, Any]]:
    return [asdict(r) for r in records]


def test_each_read_gives_the_records_the_repositories_give(
    app: App, clock: FrozenClock, tmp_path: Path
) -> None:
    rel, message_ids = _filled(app, clock, tmp_path)
    assert message_ids
    assert app.previews.parse_reads is not None
    with app.previews.parse_reads() as light, app.store.unit() as unit:
        assert type(light).__module__ == "intake_bot.store.sqlite_parse_reads"
        ref, full = light.reference, unit.reference
        assert _plain(ref.organisations()) == _plain(full.organisations())
        assert _plain(ref.approvals()) == _plain(full.approvals())
        codes = frozenset({"03G", "X26"})
        light_index, index = light.organisations.index(codes), unit.organisations.index(codes)
        assert isinstance(light_index, OrganisationIndex) and isinstance(index, OrganisationIndex)
        assert light_index == index
        assert {k: asdict(v) for k, v in light_index.records.items()} == {
            k: asdict(v) for k, v in index.records.items()
        }
        assert {k: [asdict(s) for s in v] for k, v in light_index.successions.items()} == {
            k: [asdict(s) for s in v] for k, v in index.successions.items()
        }
        for ids in ([message_ids[0]], message_ids[-1:], ["<not-ours@x>"], []):
            assert light.requests.for_outgoing(ids) == unit.requests.for_outgoing(ids)
        for request_id in (1, 2, 999):
            a, b = light.requests.get(request_id), unit.requests.get(request_id)
            assert (a and asdict(a)) == (b and asdict(b))
        found = light.register.by_reference(rel.reference)
        assert found is not None and asdict(found) == asdict(rel)
        assert light.register.by_reference("LCR-999999") is None
        assert light.register.contacts_for(found) == unit.register.contacts_for(rel)
        assert light.register.contacts_for(found)  # the test reads some


def test_a_preview_read_without_the_orm_is_the_same(
    app: App, clock: FrozenClock, tmp_path: Path
) -> None:
    rel, message_ids = _filled(app, clock, tmp_path)
    change = new_request(
        0,
        request_type="End a relationship",
        existing_reference=rel.reference,
        change_description="Contract ended.",
    )
    reply = email(
        subject="Re: your request",
        headers={"In-Reply-To": message_ids[0]},
        attachments=[("form.docx", DOCX, docx_form(new_request(1)))],
    )
    files = {
        "form.docx": docx_form(new_request(0, **LEEDS)),
        "form.xlsx": xlsx_request(new_request(2)),
        "end.docx": docx_form(change),
        "reply.eml": reply,
        "q.eml": email(body="How do I ask?\n"),
    }
    previews = {}
    for name, data in files.items():
        light, full = app.previews.parse(name, data), app.intake.parse(name, data)
        assert light.reference_data == "database"
        assert light == full, name
        previews[name] = light
    # What was read mattered: the thread, the register's contacts, ODS's successor.
    assert previews["reply.eml"].outcome == "reply"
    assert any(rel.reference in f for f in previews["end.docx"].requests[0].flags)
    assert any("successor is 15F" in p for p in previews["form.docx"].requests[0].problems)


@pytest.mark.parametrize("command", ["parse", "queue"])
def test_a_database_file_not_made_yet_is_left_to_the_store(command: str, tmp_path: Path) -> None:
    from intake_bot.store.sqlite_parse_reads import parse_reads
    from intake_bot.store.sqlite_reads import queue_reads

    # parse's or queue's readers, typed as what both take and give
    reads_of: Callable[[str, Callable[[], Any]], Callable[[], AbstractContextManager[Any]]] = (
        parse_reads if command == "parse" else queue_reads
    )
    used: list[str] = []

    def otherwise() -> Any:
        used.append("store")
        raise RuntimeError("the store's unit")

    reads = reads_of(f"sqlite:///{tmp_path / 'none-yet.db'}", otherwise)
    with pytest.raises(RuntimeError):
        reads()
    assert used == ["store"]
    assert reads_of("postgresql+psycopg://intake@db/x", otherwise) is otherwise
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database " * 100)
    with pytest.raises(StoreError), reads_of(f"sqlite:///{garbage}", otherwise)() as opened:
        opened.reference.approvals()  # then config/ (parse) or an error (queue), as the store
