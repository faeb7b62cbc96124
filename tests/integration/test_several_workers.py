"""Several workers on one mailbox and one PostgreSQL database (DESIGN "Scale"): real
`intake-bot run` processes, counted at the database, at the IMAP server and at the SMTP server.

1. Three workers and mail arriving in waves: every message filed once, every acknowledgement
   received once (one poller at a time holds the mailbox's lease; outbox rows are claimed with
   FOR UPDATE SKIP LOCKED).
2. A fixed outbox drained through an SMTP server that takes 50 ms a message: three senders
   drain it faster than one, and nothing is sent twice.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter as Tally
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.integration.worker_procs import (
    Counter,
    append_requests,
    database,
    log_tail,
    run_once,
    start,
    starts,
    wait_for,
    worker_env,
    write_config,
)
from tests.servers import DovecotServer, SmtpServer, free_port, running_smtp_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WORKERS = 3
WAVES, PER_WAVE = 4, 15
SLOW_SMTP_SECONDS = 0.05
OUTBOX = 150  # three claims of 50 (the sender's batch): one each for three senders
SPEED_UP = 1.5  # three senders against one, on a loaded 2-core machine (about 3x when idle)


@contextmanager
def _workers(cfg: Path, env: dict[str, str], count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` workers running `intake-bot run`, each logged its start; SIGTERM on exit."""
    before = starts(cfg)
    procs = [start(cfg, env) for _ in range(count)]
    try:
        wait_for(lambda: starts(cfg) >= before + count, 60, f"{count} workers' start", cfg)
        yield procs
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def test_three_workers_on_one_mailbox_file_and_send_each_message_once(
    tmp_path: Path, dovecot: DovecotServer, smtp: SmtpServer
) -> None:
    dovecot.reset()
    n = WAVES * PER_WAVE
    with database("postgres", tmp_path) as url:
        count = Counter(url)
        try:
            cfg = write_config(tmp_path / "three.toml", url, dovecot, smtp.port)
            env = worker_env(dovecot, smtp)
            with _workers(cfg, env, WORKERS) as procs:
                for wave in range(WAVES):  # each wave lands while the workers poll and send
                    append_requests(dovecot, PER_WAVE, first=wave * PER_WAVE)
                    time.sleep(1.5)
                wait_for(
                    lambda: count("SELECT count(*) FROM outbox WHERE status = 'sent'") >= n,
                    120,
                    "every acknowledgement sent",
                    cfg,
                )
                time.sleep(2)  # a duplicate would have time to arrive
                alive = [p.poll() is None for p in procs]
            assert all(alive), f"a worker exited by itself:\n{log_tail(cfg)}"
            _assert_each_once(count, smtp, n)
        finally:
            count.close()
    with dovecot.client() as client:
        client.select_folder("INBOX", readonly=True)
        assert client.search("ALL") == []
        client.select_folder("Processed", readonly=True)
        assert len(client.search("ALL")) == n


def test_three_senders_drain_the_outbox_faster_than_one_and_send_nothing_twice(
    tmp_path: Path, dovecot: DovecotServer
) -> None:
    dovecot.reset()
    append_requests(dovecot, OUTBOX)
    with (
        database("postgres", tmp_path) as url,
        running_smtp_server(
            user="mailer", password="mailer-secret", delay_seconds=SLOW_SMTP_SECONDS
        ) as smtp,
    ):
        count = Counter(url)
        try:
            # File everything and queue the acknowledgements; nothing listens on the SMTP port.
            queue_cfg = write_config(tmp_path / "queue.toml", url, dovecot, free_port())
            run_once(queue_cfg, worker_env(dovecot, smtp))
            assert count("SELECT count(*) FROM outbox WHERE status <> 'sent'") == OUTBOX
            cfg = write_config(tmp_path / "send.toml", url, dovecot, smtp.port)
            env = worker_env(dovecot, smtp)
            # Claims outlast the wait at the gate below; the mailbox is empty by now anyway.
            env["INTAKE_BOT_OUTGOING_CLAIM_SECONDS"] = "120"
            env["INTAKE_BOT_OUTGOING_TIMEOUT_SECONDS"] = "60"
            env["INTAKE_BOT_MAILBOX_POLL_INTERVAL_SECONDS"] = "300"
            one = _drain(count, smtp, cfg, env, 1)
            three = _drain(count, smtp, cfg, env, WORKERS)
        finally:
            count.close()
    assert one / three >= SPEED_UP, f"one sender {one:.1f} s, three {three:.1f} s"


def _drain(count: Counter, smtp: SmtpServer, cfg: Path, env: dict[str, str], senders: int) -> float:
    """Seconds `senders` workers take to send the whole outbox, from the moment all of them
    hold their first email at the SMTP server's gate (so that start-up is not timed)."""
    _requeue(count)
    smtp.clear()
    smtp.hold()
    with _workers(cfg, env, senders):
        wait_for(lambda: smtp.held() == senders, 60, f"{senders} sender(s) at the gate", cfg)
        started = time.monotonic()
        smtp.release()
        wait_for(
            lambda: len({m.message_id for m in smtp.messages()}) >= OUTBOX, 120, "the drain", cfg
        )
        seconds = time.monotonic() - started
        wait_for(
            lambda: count("SELECT count(*) FROM outbox WHERE status = 'sent'") == OUTBOX,
            30,
            "every row marked sent",
            cfg,
        )
        time.sleep(1)  # a duplicate would have time to arrive
    _assert_each_once(count, smtp, OUTBOX)
    return seconds


def _requeue(count: Counter) -> None:
    """Every outbox row back to pending and due, as the poll queued it."""
    with count.engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE outbox SET status = 'pending', attempts = 0, sent_at = NULL,"
            " last_error = '', next_attempt_at = created_at"
        )


def _assert_each_once(count: Counter, smtp: SmtpServer, n: int) -> None:
    assert count("SELECT count(*) FROM inbound_message") == n
    assert count("SELECT count(DISTINCT dedupe_key) FROM inbound_message") == n
    assert count("SELECT count(*) FROM request") == n
    assert count("SELECT count(*) FROM outbox") == n
    assert count("SELECT count(*) FROM outbox WHERE status <> 'sent'") == 0
    expected = {str(row[0]) for row in count.rows("SELECT message_id FROM outbox")}
    received = Tally((m.message_id or "").strip() for m in smtp.messages())
    assert set(received) == expected, "an acknowledgement never arrived"
    twice = {mid: times for mid, times in received.items() if times > 1}
    assert not twice, f"sent more than once: {twice}"
