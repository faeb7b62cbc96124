"""ODS organisations on real databases (SQLite and PostgreSQL): migration 0006 both ways, an
import and a re-import, a review item with no register change until staff decide, validation
naming the successor, and `intake-bot ods` as an operator runs it."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
import sqlalchemy as sa

from intake_bot.bootstrap import App
from intake_bot.domain.organisations import OdsError
from intake_bot.domain.records import Relationship
from intake_bot.samples import docx_form, new_request
from intake_bot.store import migrate
from intake_bot.store.store import Store
from tests.conftest import FrozenClock, sql_store
from tests.ods_files import (
    icb_merger_file,
    report,
    report_row,
    sub_icb_files,
    succ_row,
    trust_file,
)
from tests.register_cases import approved_relationship

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
APRIL_2016 = datetime(2016, 4, 1, 9, tzinfo=UTC)
MAY_2026 = datetime(2026, 5, 1, 9, tzinfo=UTC)
LEEDS = {"commissioner_ods": "03G", "commissioner_name": "NHS Leeds South and East CCG"}
_uids = itertools.count(1)
ODS_TABLES = {"ods_organisation", "ods_succession", "ods_review"}


def test_migration_0006_adds_the_ods_tables_and_downgrade_drops_them(database_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    store = Store.from_url(database_url)
    try:
        migrate.upgrade(store, "0005")
        assert not ODS_TABLES & set(sa.inspect(store.engine).get_table_names())
        migrate.upgrade(store)
        assert set(sa.inspect(store.engine).get_table_names()) >= ODS_TABLES
        cfg = Config()
        cfg.set_main_option("script_location", str(migrate.MIGRATIONS))
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0005")
        assert not ODS_TABLES & set(sa.inspect(store.engine).get_table_names())
    finally:
        store.dispose()


def _outbox_kinds(app: App) -> list[str]:
    with sql_store(app).engine.connect() as conn:  # the real store: count rows directly
        return list(conn.execute(sa.text("SELECT kind FROM outbox ORDER BY id")).scalars())


@dataclass(frozen=True)
class _Sent:
    recipients: list[str]
    subject: str
    raw: bytes
    message_id: str


def _outbox(app: App, kind: str) -> list[_Sent]:
    with sql_store(app).engine.connect() as conn:  # the real store: read rows directly
        rows = conn.execute(
            sa.text(
                "SELECT recipients, subject, raw, message_id FROM outbox WHERE kind = :k"
                " ORDER BY id"
            ),
            {"k": kind},
        )
        return [
            _Sent(r[0] if isinstance(r[0], list) else json.loads(r[0]), r[1], bytes(r[2]), r[3])
            for r in rows
        ]


def _text(raw: bytes) -> str:
    body = message_from_bytes(raw, policy=default).get_body(("plain",))
    assert body is not None
    return " ".join(body.get_content().split(" "))


def _assert_threaded(raw: bytes, *, on: str) -> None:
    """The decision is a reply to the notice, so a mail client shows the two together."""
    headers = message_from_bytes(raw, policy=default)
    assert on and headers["In-Reply-To"] == on
    assert on in str(headers["References"]).split()


def _events(app: App, action: str) -> list[tuple[str, str | None, str]]:
    with sql_store(app).engine.connect() as conn:  # the real store: count rows directly
        rows = conn.execute(
            sa.text("SELECT actor, to_status, note FROM event WHERE action = :a ORDER BY id"),
            {"a": action},
        )
        return [(r[0], r[1], r[2]) for r in rows]


def _commissioner(app: App, reference: str) -> tuple[str, str]:
    (row,) = [r for r in app.register.rows(published_only=False) if r.reference == reference]
    return row.commissioner_ods, row.status


def test_import_review_and_carry_over_on_the_database(
    app: App, clock: FrozenClock, tmp_path: Path
) -> None:
    clock.now = APRIL_2016
    rel = approved_relationship(app, _uids, **LEEDS)
    clock.now = MAY_2026
    files = [*sub_icb_files(tmp_path), icb_merger_file(tmp_path), trust_file(tmp_path)]
    report = app.organisations.import_files(files, actor="operator")
    assert report.counts() == {"closed": 4, "opened": 6, "succeeded": 4}
    (item,) = report.reviews
    assert (item.reference, item.closed_code, item.successors[0][0]) == (
        rel.reference,
        "03G",
        "15F",
    )
    assert _outbox_kinds(app).count("ods_succession") == 1
    assert _commissioner(app, rel.reference) == ("03G", "active")  # nothing changed yet

    again = app.organisations.import_files(files, actor="operator")
    assert again.unchanged and again.reviews == ()
    renamed = app.organisations.import_files([trust_file(tmp_path, renamed=True)], actor="op")
    assert [(c.what, c.code) for c in renamed.changes] == [("renamed", "RXF")]
    assert [note.split(": ", 1)[1] for _, _, note in _events(app, "ods_import")] == [
        report.summary(),
        "no changes",
        "1 renamed",
    ]
    assert _outbox_kinds(app).count("ods_succession") == 1
    assert [i.id for i in app.organisations.reviews()] == [item.id]

    app.organisations.decide(item.id, "carry", actor="jo", note="ICB agreed")
    assert _commissioner(app, rel.reference) == ("15F", "active")
    (told,) = _outbox(app, "ods_decision")
    (opened,) = _outbox(app, "ods_succession")  # told of the decision as of the review
    assert told.recipients == opened.recipients and len(told.recipients) == 2
    _assert_threaded(told.raw, on=opened.message_id)
    assert told.subject.startswith(f"[{rel.reference}] carried over to 15F: 03G has closed")
    text = _text(told.raw)
    assert (
        "Decision: carried over to the successor" in text and "15F  NHS WEST YORKSHIRE ICB" in text
    )
    assert "From 01/07/2022 the register names NHS WEST YORKSHIRE ICB - 15F as" in text
    assert "ICB agreed" not in text  # staff's note is for the audit trail
    decided = [e for e in _events(app, "ods_review") if e[1] == "carried"]
    assert decided and decided[0][0] == "jo" and "03G → 15F" in decided[0][2]
    assert app.organisations.reviews() == []
    assert [i.status for i in app.organisations.reviews(include_decided=True)] == ["carried"]
    # the relationship's own history shows both versions and who decided, when and why
    history = app.register.history(rel.reference.lower())
    assert [(v.version, v.commissioner.endswith("(15F)")) for v in history.versions] == [
        (1, False),
        (2, True),
    ]
    said = [(e.actor, e.note) for e in history.events]
    assert any(a == "jo" and "03G → 15F" in n and "ICB agreed" in n for a, n in said)
    assert any("awaiting a staff decision" in n for _, n in said)  # the item opened
    assert history.events[0].at <= history.events[-1].at


def test_ending_on_review_ends_the_relationship(
    app: App, clock: FrozenClock, tmp_path: Path
) -> None:
    clock.now = APRIL_2016
    rel = approved_relationship(
        app, _uids, commissioner_ods="QJG", commissioner_name="NHS Suffolk ICB"
    )
    clock.now = MAY_2026
    (item,) = app.organisations.import_files([icb_merger_file(tmp_path)], actor="op").reviews
    app.organisations.decide(item.id, "end", actor="jo")
    assert _commissioner(app, rel.reference)[1] == "ended"
    (told,) = _outbox(app, "ods_decision")
    (opened,) = _outbox(app, "ods_succession")  # told of the decision as of the review
    assert told.recipients == opened.recipients and len(told.recipients) == 2
    _assert_threaded(told.raw, on=opened.message_id)
    assert told.subject.startswith(f"[{rel.reference}] ended: QJG has closed")
    assert "The relationship has ended: it is not in force from 01/04/2026" in _text(told.raw)
    assert [e[1] for e in _events(app, "ods_review")] == ["open", "ended"]


def _leeds_in_force_in_may_2026(app: App, clock: FrozenClock) -> Relationship:
    """The 03G relationship approved in 2016; the clock then at May 2026, when files arrive."""
    clock.now = APRIL_2016
    rel = approved_relationship(app, _uids, **LEEDS)
    clock.now = MAY_2026
    return rel


def test_a_closure_ods_withdraws_withdraws_the_review_and_a_new_one_reopens_it(
    app: App, clock: FrozenClock, tmp_path: Path
) -> None:
    rel = _leeds_in_force_in_may_2026(app, clock)

    def eccg(name: str, closes: str) -> Path:
        rows = [report_row("03G", "NHS LEEDS SOUTH AND EAST CCG", closed=closes)]
        return report(tmp_path / name, rows)

    (item,) = app.organisations.import_files([eccg("a.csv", "20270331")], actor="op").reviews
    withdrawn = app.organisations.import_files([eccg("b.csv", "")], actor="op")
    assert [(c.what, c.code) for c in withdrawn.changes] == [
        ("reopened", "03G"),
        ("review withdrawn", "03G"),
    ]
    assert app.organisations.reviews() == []
    (told,) = _outbox(app, "ods_decision")
    (opened,) = _outbox(app, "ods_succession")
    assert told.recipients == opened.recipients
    _assert_threaded(told.raw, on=opened.message_id)
    assert told.subject.startswith(f"[{rel.reference}] no change: 03G is no longer closing")
    text = _text(told.raw)
    assert "ODS no longer shows 03G closing" in text and "nothing changes in the register" in text
    assert "Decision:" not in text
    assert _commissioner(app, rel.reference) == ("03G", "active")

    # closed again: the one item a relationship and code has (a unique key) opens again
    (again,) = app.organisations.import_files([eccg("c.csv", "20270630")], actor="op").reviews
    assert again.id == item.id and again.status == "open"
    assert len(_outbox(app, "ods_succession")) == 2
    assert [e[1] for e in _events(app, "ods_review")] == ["open", "withdrawn", "open"]


def test_a_corrected_successions_file_and_a_stale_decision_on_the_database(
    app: App, clock: FrozenClock, tmp_path: Path
) -> None:
    rel = _leeds_in_force_in_may_2026(app, clock)
    (item,) = app.organisations.import_files(sub_icb_files(tmp_path), actor="op").reviews
    fixed = report(tmp_path / "succ_fixed.csv", [succ_row("03G", "16C", "20220701")])
    changes = app.organisations.import_files([fixed], actor="op").changes
    assert [(c.what, c.code) for c in changes][:2] == [
        ("succession dropped", "03G"),
        ("succeeded", "03G"),
    ]
    (updated,) = app.organisations.reviews()
    assert [code for code, _ in updated.successors] == ["16C"]
    approved_relationship(  # a change request named another code meanwhile, from the closure
        app,
        _uids,
        request_type="Change to an existing relationship",
        existing_reference=rel.reference,
        commissioner_ods="16C",
        commissioner_name="NHS New ICB - 16C",
        effective_date="01/07/2022",
    )
    with pytest.raises(OdsError, match="withdrawn: the relationship no longer names 03G"):
        app.organisations.decide(item.id, "carry", actor="jo")
    assert [i.status for i in app.organisations.reviews(include_decided=True)] == ["withdrawn"]
    assert _commissioner(app, rel.reference)[1] == "active"  # nothing decided, nothing changed
    assert _outbox_kinds(app).count("ods_decision") == 0


def test_a_form_naming_a_closed_code_is_told_its_successor(
    app: App, clock: FrozenClock, tmp_path: Path
) -> None:
    clock.now = MAY_2026
    app.organisations.import_files(sub_icb_files(tmp_path), actor="op")
    preview = app.intake.parse("form.docx", docx_form(new_request(0, **LEEDS)))
    (judged,) = preview.requests
    assert any("03G closed on 30/06/2022; its successor is 15F" in p for p in judged.problems)


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_BOT_")}
    full_env.update(env, COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "intake_bot", *args],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_ods_commands_as_an_operator_runs_them(tmp_path: Path) -> None:
    env = {
        "INTAKE_BOT_DATABASE_URL": f"sqlite:///{tmp_path / 'intake.db'}",
        "INTAKE_BOT_MAILBOX_URL": f"maildir:{tmp_path / 'mail'}",
        "INTAKE_BOT_OUTGOING_URL": f"file:{tmp_path / 'outbox'}",
    }
    assert _cli("db", "upgrade", env=env).returncode == 0
    files = [str(p) for p in [*sub_icb_files(tmp_path), icb_merger_file(tmp_path)]]
    first = _cli("ods", "import", *files, env=env)
    assert first.returncode == 0, first.stderr
    assert "closed     03G    NHS LEEDS SOUTH AND EAST CCG, closed on 30/06/2022" in first.stdout
    assert "succeeded  03G    03G → 15F from 01/07/2022" in first.stdout
    second = _cli("ods", "import", *files, "--json", env=env)
    assert json.loads(second.stdout)["unchanged"] is True
    assert "no changes" in _cli("ods", "import", *files, env=env).stdout
    bad = tmp_path / "broken.csv"
    bad.write_bytes(b"\x00\x01binary")
    broken = _cli("ods", "import", str(bad), env=env)
    assert broken.returncode == 2 and "broken.csv: a binary file" in broken.stderr
    assert "Traceback" not in broken.stderr
    twice = report(
        tmp_path / "twice.csv",
        ["Organisation Code,Name,Open Date,Close Date,Closed Date", "03G,LEEDS,20130401,,20220630"],
    )
    ambiguous = _cli("ods", "import", str(twice), env=env)
    assert ambiguous.returncode == 2 and (
        'twice.csv: line 1: its header names the close date in more than one column: "Close Date" '
        '(column 4) and "Closed Date" (column 5); remove all but one'
    ) in " ".join(ambiguous.stderr.split())
    assert "no open review items" in _cli("ods", "reviews", env=env).stdout
    refused = _cli("ods", "decide", "ODS-9", "carry", env=env)
    assert refused.returncode == 2 and "ODS-9: no such review item" in refused.stderr
    unknown = _cli("register", "history", "LCR-000009", env=env)
    assert unknown.returncode == 2 and "LCR-000009: no such relationship" in unknown.stderr


def test_the_register_page_shows_review_items_and_a_lead_decides(
    app: App, clock: FrozenClock, tmp_path: Path
) -> None:
    from starlette.testclient import TestClient

    from intake_bot.web.app import create_app
    from tests.integration.test_web_console import (
        NORTH_CASEWORKER,
        NORTH_LEAD,
        PASSWORD,
        csrf_of,
        sign_in,
    )

    clock.now = APRIL_2016
    rel = approved_relationship(app, _uids, **LEEDS)
    clock.now = MAY_2026
    (item,) = app.organisations.import_files(sub_icb_files(tmp_path), actor="op").reviews
    for email_, role in ((NORTH_CASEWORKER, "caseworker"), (NORTH_LEAD, "lead")):
        app.staff.add(email_, name=role, offices=["North"], role=role, password=PASSWORD, actor="t")
    with TestClient(create_app(app, secret="s" * 48, secure_cookies=False)) as console:
        sign_in(console, NORTH_CASEWORKER)
        page = console.get("/register").text
        assert f"ODS-{item.id}" in page and "NHS WEST YORKSHIRE ICB (15F)" in page
        assert "15F (15F)" not in page  # ODS's name ends in the code: shown once
        assert "Carry over to 15F" not in page  # a caseworker sees, a lead decides
        form = {"csrf": csrf_of(page), "review": str(item.id), "decision": "carry"}
        refused = console.post("/register/reviews", data=form)
        assert "Only a lead or an admin" in refused.text
        assert _commissioner(app, rel.reference)[0] == "03G"
        console.post("/logout", data={"csrf": form["csrf"]})
        sign_in(console, NORTH_LEAD)
        page = console.get("/register").text
        assert "Carry over to 15F" in page
        form["csrf"] = csrf_of(page)
        done = console.post("/register/reviews", data=form)
        told = f"{rel.reference} carried over to NHS WEST YORKSHIRE ICB (15F) from 01/07/2022"
        assert told in done.text
        assert "15F (15F)" not in done.text  # the register row names the successor once too
    assert _commissioner(app, rel.reference)[0] == "15F"
    assert [e[0] for e in _events(app, "ods_review") if e[1] == "carried"] == [NORTH_LEAD]


def test_a_lead_names_the_successor_on_the_page_when_ods_names_none(
    app: App, clock: FrozenClock, tmp_path: Path
) -> None:
    from starlette.testclient import TestClient

    from intake_bot.web.app import create_app
    from tests.integration.test_web_console import NORTH_LEAD, PASSWORD, csrf_of, sign_in

    clock.now = APRIL_2016
    rel = approved_relationship(
        app, _uids, commissioner_ods="00C", commissioner_name="NHS Darlington CCG"
    )
    clock.now = MAY_2026
    eccg, _succ = sub_icb_files(tmp_path)
    (item,) = app.organisations.import_files([eccg], actor="op").reviews  # no successions file
    app.staff.add(
        NORTH_LEAD, name="lead", offices=["North"], role="lead", password=PASSWORD, actor="t"
    )
    with TestClient(create_app(app, secret="s" * 48, secure_cookies=False)) as console:
        sign_in(console, NORTH_LEAD)
        page = console.get("/register").text
        assert "the successor's ODS code" in page and "Carry over to" not in page
        form = {"csrf": csrf_of(page), "review": str(item.id), "decision": "carry", "to": "zzz"}
        assert (
            "ZZZ is not in the ODS reports imported"
            in console.post("/register/reviews", data=form).text
        )
        form["to"] = "16c"
        done = console.post("/register/reviews", data=form).text
        # the successor staff named, by the name ODS gives it, though ODS named none
        told = f"{rel.reference} carried over to NHS NORTH EAST AND NORTH CUMBRIA ICB (16C) from"
        assert f"{told} 01/07/2022" in done
    assert _commissioner(app, rel.reference)[0] == "16C"
