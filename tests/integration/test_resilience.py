"""DESIGN invariants 2-4 under stress: poison messages, SMTP down for hours, robots and loops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from intake_bot.bootstrap import App, build, load_reference_data
from intake_bot.mail.maildir import deliver
from intake_bot.samples import DOCX, docx_form, email, new_request
from intake_bot.services import polling
from intake_bot.services.intake import IngestResult
from intake_bot.store import migrate
from intake_bot.worker import Worker
from tests.conftest import REPO, FrozenClock, make_settings, sql_store
from tests.servers import SmtpServer

pytestmark = pytest.mark.integration


def _maildir(app: App) -> Path:
    return Path(app.settings.mailbox.url.split(":", 1)[1])


def _form_email(i: int, sender: str = "aisha.khan@nhs.net") -> bytes:
    return email(sender=sender, attachments=[("f.docx", DOCX, docx_form(new_request(i)))])


def test_a_message_that_crashes_filing_is_quarantined_after_max_attempts(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    form = [("p.docx", DOCX, docx_form(new_request(9)))]
    poison = email(sender="poison@nhs.net", attachments=form)
    deliver(_maildir(app), poison)
    deliver(_maildir(app), _form_email(1))
    real = polling.ingest_message

    def crash_on_poison(raw: bytes, *args: object, **kwargs: object) -> IngestResult:
        if b"poison@nhs.net" in raw:
            raise RuntimeError("a bug in a reader")
        return real(raw, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(polling, "ingest_message", crash_on_poison)
    worker = Worker(app)
    reports = [worker.poll() for _ in range(app.settings.mailbox.max_attempts + 1)]
    assert [r.errors for r in reports if r] == [1, 1, 1, 0]
    assert reports[0] is not None and reports[0].filed == 1  # the good one did not wait
    assert reports[-1] is not None and reports[-1].outcomes == {"quarantined": 1}
    quarantined = list((_maildir(app) / ".Quarantine" / "cur").iterdir()) + list(
        (_maildir(app) / ".Quarantine" / "new").iterdir()
    )
    assert len(quarantined) == 1
    with app.store.unit() as unit:
        (held,) = unit.messages.in_queue("quarantine")
        assert "RuntimeError" in held.note and held.raw == poison  # archived whole, for staff
    assert worker.poll() is not None  # and the mailbox moves on
    assert list((_maildir(app) / "new").iterdir()) == []


def test_smtp_down_for_hours_loses_nothing(
    tmp_path: Path, smtp: SmtpServer, clock: FrozenClock
) -> None:
    settings = make_settings(
        tmp_path,
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        outgoing={
            "url": f"smtp://{smtp.user}@{smtp.host}:{smtp.port}?tls=none",
            "password": smtp.password,
            "allow_plain_auth": "true",
            "backoff_seconds": 60,
        },
    )
    app = build(settings, clock=clock)
    migrate.upgrade(sql_store(app))
    load_reference_data(app)
    for i in range(3):
        deliver(_maildir(app), _form_email(i, sender=f"user{i}@nhs.net"))
    smtp.stop()
    worker = Worker(app)
    worker.poll()
    for _hour in range(5):  # five hours of failures, retried with back-off
        report = worker.send()
        assert report is not None and report.sent == 0
        clock.now += timedelta(hours=1)
    with app.store.unit() as unit:
        assert unit.outbox.counts() == {"pending": 3}
    smtp.start()
    clock.now += timedelta(hours=6)
    report = worker.send()
    assert report is not None and report.sent == 3
    assert len(smtp.messages()) == 3


def test_replies_to_one_sender_are_rate_limited(app: App) -> None:
    limit = app.settings.outgoing.replies_per_sender_per_hour
    for i in range(limit + 3):
        deliver(_maildir(app), _form_email(i))
    poll, send = Worker(app).run_once()
    assert poll is not None and poll.filed == limit + 3  # every request is still filed
    assert send is not None and send.sent == limit
    with app.store.unit() as unit:
        suppressed = [e for e in unit.events.for_() if e.action == "reply_suppressed"]
    assert len(suppressed) == 3 and "rate limit" in suppressed[0].note


def test_run_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[mailbox]\nurl = "maildir:{tmp_path / "mail"}"\n'
        f'[database]\nurl = "sqlite:///{tmp_path / "db.sqlite"}"\n'
        f'[outgoing]\nurl = "file:{tmp_path / "outbox"}"\n'
        f'[paths]\ns251 = "{REPO / "config/s251.toml"}"\n'
        f'organisations = "{REPO / "config/organisations.toml"}"\n'
    )
    for i in range(5):
        deliver(tmp_path / "mail", _form_email(i, sender=f"user{i}@nhs.net"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_BOT_")}
    log = (tmp_path / "worker.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "intake_bot", "--config", str(cfg), "run"],
        env=env,
        stdout=log,
        stderr=log,
        cwd=tmp_path,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list((tmp_path / "outbox").glob("*.eml"))) < 5:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    text = (tmp_path / "worker.log").read_text()
    assert "stopping after the message in hand" in text and "worker stopped" in text
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 5


def test_a_sqlite_commit_is_on_disk_before_the_mailbox_is_told(tmp_path: Path) -> None:
    """synchronous=FULL on every connection: with NORMAL a power loss may roll back commits
    whose messages were already moved to the processed folder (never filed) or whose emails
    were marked sent (sent twice). PostgreSQL's default (synchronous_commit on) is the same."""
    from sqlalchemy import text

    from intake_bot.store.store import Store

    store = Store.from_url(f"sqlite:///{tmp_path / 'intake.db'}")
    try:
        with store.engine.connect() as first, store.engine.connect() as second:
            for conn in (first, second):
                assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
    finally:
        store.dispose()
