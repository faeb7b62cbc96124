"""Faults at the edges, on real servers: SMTP refusals (4xx retried with back-off, 5xx failed,
recorded and shown), `intake-bot health` on a database that does not answer, and the
database's connections ended under a running worker."""

from __future__ import annotations

import signal
import time
from collections import Counter as Tally
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from intake_bot.bootstrap import App, build, load_reference_data
from intake_bot.cli import app as cli_app
from intake_bot.mail.maildir import deliver
from intake_bot.samples import DOCX, docx_form, email, new_request
from intake_bot.store import migrate
from intake_bot.worker import Worker
from tests.conftest import REPO, FrozenClock, make_settings, sql_store
from tests.integration.worker_procs import (
    Counter,
    append_requests,
    database,
    log_tail,
    start,
    starts,
    wait_for,
    worker_env,
    write_config,
)
from tests.servers import ADMIN_POSTGRES_URL, DovecotServer, SmtpServer, free_port

ADMIN = "postgresql://" + ADMIN_POSTGRES_URL.split("://", 1)[1]  # libpq's spelling

pytestmark = pytest.mark.integration


def _app(tmp_path: Path, smtp: SmtpServer, clock: FrozenClock) -> App:
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
    maildir = Path(settings.mailbox.url.split(":", 1)[1])
    deliver(maildir, email(attachments=[("f.docx", DOCX, docx_form(new_request(1)))]))
    return app


@pytest.mark.parametrize(
    ("reply", "stage"),
    [("421 4.3.2 Service shutting down", "data"), ("451 4.3.0 Try again later", "rcpt")],
)
def test_a_temporary_refusal_is_retried_with_back_off_then_sent(
    tmp_path: Path, smtp: SmtpServer, clock: FrozenClock, reply: str, stage: str
) -> None:
    app = _app(tmp_path, smtp, clock)
    worker = Worker(app)
    worker.poll()
    smtp.refuse(reply, stage=stage)

    for attempt, wait in ((1, 60), (2, 120)):
        report = worker.send()
        assert report is not None and (report.sent, report.deferred) == (0, 1)
        with app.store.unit() as unit:
            (row,) = unit.outbox.for_()
            assert (row.status, row.attempts) == ("pending", attempt)
            assert row.next_attempt_at == clock.now + timedelta(seconds=wait)  # doubling
            assert reply.split()[0] in row.last_error
        assert worker.send().sent == 0  # type: ignore[union-attr]  # not due yet
        clock.now += timedelta(seconds=wait)

    smtp.accept()
    assert worker.send().sent == 1  # type: ignore[union-attr]
    assert len(smtp.messages()) == 1


@pytest.mark.parametrize(
    ("reply", "stage"),
    [("550 5.1.1 No such user", "rcpt"), ("554 5.7.1 Message refused", "data")],
)
def test_a_permanent_refusal_fails_at_once_and_staff_see_why(
    tmp_path: Path, smtp: SmtpServer, clock: FrozenClock, reply: str, stage: str
) -> None:
    app = _app(tmp_path, smtp, clock)
    worker = Worker(app)
    worker.poll()
    smtp.refuse(reply, stage=stage)

    report = worker.send()

    assert report is not None and (report.sent, report.failed) == (0, 1)
    with app.store.unit() as unit:
        (row,) = unit.outbox.for_()
        assert row.status == "failed" and reply.split()[0] in row.last_error
        (event,) = [e for e in unit.events.for_() if e.action == "email_failed"]
        assert event.request_id == row.request_id is not None and event.outbox_id == row.id
        assert reply.split()[0] in event.note
    (failure,) = app.outbox.status().failures
    assert failure.status == "failed" and reply.split()[0] in failure.last_error
    status = app.operations.status()
    assert status.outbox["failed"] == 1 and status.outbox_failures[0].outbox_id == row.id
    clock.now += timedelta(days=1)
    assert worker.send().sent == 0  # type: ignore[union-attr]  # given up: not retried


def test_health_fails_on_an_unreachable_database_and_on_a_mailbox_never_polled(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    config = ["--config", str(REPO / "config/intake-bot.toml")]
    down = {"INTAKE_BOT_DATABASE_URL": f"postgresql+psycopg://x@127.0.0.1:{free_port()}/x"}
    result = runner.invoke(cli_app, [*config, "health"], env=down)
    assert result.exit_code == 1 and "unhealthy: database" in result.output

    env = {
        "INTAKE_BOT_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "INTAKE_BOT_MAILBOX_URL": f"maildir:{tmp_path / 'mail'}",
        "INTAKE_BOT_OUTGOING_URL": f"file:{tmp_path / 'outbox'}",
    }
    assert runner.invoke(cli_app, [*config, "db", "upgrade"], env=env).exit_code == 0
    never = runner.invoke(cli_app, [*config, "health"], env=env)
    assert never.exit_code == 1 and "mailbox enquiries: never polled" in never.output
    assert runner.invoke(cli_app, [*config, "run", "--once"], env=env).exit_code == 0
    healthy = runner.invoke(cli_app, [*config, "health"], env=env)
    assert healthy.exit_code == 0, healthy.output


@pytest.mark.slow
def test_postgres_connections_cut_under_a_running_worker_lose_and_duplicate_nothing(
    tmp_path: Path, dovecot: DovecotServer, smtp: SmtpServer
) -> None:
    """The database "restarts" under a running worker: every one of its connections is ended
    (pg_terminate_backend), five times while it files and sends. Restarting the machine's
    PostgreSQL itself would do the same to the worker but also to every other test using that
    server at the time, so the test ends the worker's connections, which is what it sees."""
    n = 60
    dovecot.reset()
    append_requests(dovecot, n)
    with database("postgres", tmp_path) as url:
        count = Counter(url)
        cfg = write_config(tmp_path / "pg.toml", url, dovecot, smtp.port)
        proc = start(cfg, worker_env(dovecot, smtp))
        try:
            wait_for(lambda: starts(cfg) > 0, 60, "the worker's start", cfg)
            for _ in range(5):
                time.sleep(1.5)
                _end_connections(url)
            wait_for(lambda: len(smtp.messages()) >= n, 120, "every acknowledgement", cfg)
            time.sleep(1)  # anything sent twice would arrive now
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        try:
            assert count("SELECT count(*) FROM inbound_message") == n
            assert count("SELECT count(*) FROM request") == n
            assert count("SELECT count(*) FROM inbound_message WHERE outcome='quarantined'") == 0
            assert count("SELECT count(*) FROM outbox WHERE status = 'sent'") == n
        finally:
            count.close()
    received = Tally(m.message_id for m in smtp.messages())
    assert len(received) == n and max(received.values()) == 1, log_tail(cfg)


def _end_connections(url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
