"""IMAP IDLE in the real worker (`intake-bot run`) on the real Dovecot and SMTP test servers.

The interval poll is set to 10 minutes, so only IDLE can explain an acknowledgement that comes
within seconds. The IDLE connection is then cut (by the server, and by the network), and mail
that comes meanwhile and afterwards must still be answered, each request filed and answered
exactly once. A server without IDLE leaves the worker polling on its interval.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

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
from tests.servers import (
    DovecotServer,
    SmtpServer,
    find_dovecot,
    private_dovecot,
    require,
)
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration

IDLE_LATENCY = 5.0  # seconds from the append to the acknowledgement at the SMTP server
AFTER_A_DROP = 10.0  # the same, while the watcher reconnects (back-off starts at 1 s)
FAILED = "watching for news failed"
AGAIN = "watching for news again"
# What a server without IDLE offers once logged in (imap_capability replaces Dovecot's list).
NO_IDLE = (
    "imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+ UNSELECT CHILDREN "
    "NAMESPACE UIDPLUS MOVE\n"
)


@contextmanager
def _worker(
    tmp_path: Path, dovecot: DovecotServer, smtp: SmtpServer, interval: int, port: int | None
) -> Iterator[tuple[Path, Counter]]:
    """`intake-bot run` on SQLite, the mailbox polled every `interval` seconds; SIGTERM on
    exit, which must stop it promptly."""
    with database("sqlite", tmp_path) as url:
        count = Counter(url)
        cfg = write_config(tmp_path / "idle.toml", url, dovecot, smtp.port, imap_port=port)
        env = worker_env(dovecot, smtp)
        env["INTAKE_BOT_MAILBOX_POLL_INTERVAL_SECONDS"] = str(interval)
        proc = start(cfg, env)
        try:
            wait_for(lambda: starts(cfg) == 1 or proc.poll() is not None, 60, "the start", cfg)
            assert proc.poll() is None, f"the worker exited:\n{log_tail(cfg)}"
            # The first polls (on start, and on the watcher's first connection) come and go.
            wait_for(lambda: _polls(count) >= 1, 30, "the first poll", cfg)
            time.sleep(1)
            yield cfg, count
        finally:
            stopped = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
                pytest.fail(f"the worker did not stop on SIGTERM:\n{log_tail(cfg)}")
            count.close()
        print(f"stopped {time.monotonic() - stopped:.2f} s after SIGTERM")
        assert proc.returncode == 0, log_tail(cfg)


def _polls(count: Counter) -> int:
    return count("SELECT count(*) FROM mailbox_cursor WHERE poll_ok")


def _acknowledged(
    dovecot: DovecotServer, smtp: SmtpServer, cfg: Path, i: int, within: float, what: str
) -> float:
    """Append request `i` and wait for its acknowledgement (the i+1-th email): the latency."""
    before = len(smtp.messages())
    appended = time.monotonic()
    append_requests(dovecot, 1, first=i)
    wait_for(lambda: len(smtp.messages()) > before, within, f"the acknowledgement {what}", cfg)
    latency = time.monotonic() - appended
    print(f"request {i} ({what}): acknowledged {latency:.2f} s after it was appended")
    return latency


def _assert_each_filed_and_answered_once(count: Counter, smtp: SmtpServer, n: int) -> None:
    assert count("SELECT count(*) FROM inbound_message") == n
    assert count("SELECT count(*) FROM request") == n
    assert count("SELECT count(*) FROM outbox") == n
    expected = {str(row[0]) for row in count.rows("SELECT message_id FROM outbox")}
    received = Tally((m.message_id or "").strip() for m in smtp.messages())
    assert set(received) == expected
    assert all(times == 1 for times in received.values()), received


def _log_count(cfg: Path, text: str) -> int:
    return log_tail(cfg, size=1_000_000).count(text)


def _wait_for_log(cfg: Path, text: str, times: int) -> None:
    wait_for(lambda: _log_count(cfg, text) == times, AFTER_A_DROP, f"{text!r} x{times}", cfg)


def _wait_for_emails(smtp: SmtpServer, cfg: Path, n: int) -> None:
    wait_for(lambda: len(smtp.messages()) == n, AFTER_A_DROP, f"{n} emails at the server", cfg)


def _after_a_cut(cut: Callable[[], object], cfg: Path) -> None:
    """Cut the IDLE connection and wait for the watcher's fault to be logged."""
    failed = _log_count(cfg, FAILED)
    cut()
    wait_for(lambda: _log_count(cfg, FAILED) > failed, 10, "the watcher noticing the cut", cfg)


def test_idle_acknowledges_in_seconds_and_survives_a_kick(
    tmp_path: Path, dovecot: DovecotServer, smtp: SmtpServer
) -> None:
    dovecot.reset()
    with _worker(tmp_path, dovecot, smtp, interval=600, port=None) as (cfg, count):
        assert _acknowledged(dovecot, smtp, cfg, 0, IDLE_LATENCY, "by IDLE") < IDLE_LATENCY

        _after_a_cut(dovecot.kick, cfg)
        _acknowledged(dovecot, smtp, cfg, 1, AFTER_A_DROP, "while reconnecting")
        _wait_for_log(cfg, AGAIN, 1)
        assert _acknowledged(dovecot, smtp, cfg, 2, IDLE_LATENCY, "after the kick") < IDLE_LATENCY

        time.sleep(1.5)  # a duplicate would have time to arrive
        _assert_each_filed_and_answered_once(count, smtp, 3)
        assert _log_count(cfg, FAILED) == 1  # the fault is logged once, not on every retry


def test_a_connection_cut_by_the_network_is_noticed_and_nothing_is_lost(
    tmp_path: Path, dovecot: DovecotServer, smtp: SmtpServer
) -> None:
    dovecot.reset()
    with (
        TcpProxy((dovecot.host, dovecot.port)) as proxy,
        _worker(tmp_path, dovecot, smtp, interval=600, port=proxy.port) as (cfg, count),
    ):
        assert _acknowledged(dovecot, smtp, cfg, 0, IDLE_LATENCY, "by IDLE") < IDLE_LATENCY
        for outage in (1, 2):  # each outage is logged once
            assert proxy.connections >= 1
            _after_a_cut(proxy.cut_all, cfg)  # no BYE: the socket just closes
            append_requests(dovecot, 1, first=outage)  # it comes while nothing watches
            _wait_for_log(cfg, AGAIN, outage)
            _wait_for_emails(smtp, cfg, 1 + outage)
        assert _acknowledged(dovecot, smtp, cfg, 3, IDLE_LATENCY, "after two cuts") < IDLE_LATENCY

        time.sleep(1.5)
        _assert_each_filed_and_answered_once(count, smtp, 4)
        assert _log_count(cfg, FAILED) == 2


def test_without_idle_the_worker_polls_on_its_interval(tmp_path: Path, smtp: SmtpServer) -> None:
    require(find_dovecot() is not None, "Dovecot is not installed (apt-get install dovecot-imapd)")
    with (
        private_dovecot(extra_config=NO_IDLE) as plain,
        _worker(tmp_path, plain, smtp, interval=5, port=None) as (cfg, count),
    ):
        with plain.client() as client:
            assert not client.has_capability("IDLE")
        _acknowledged(plain, smtp, cfg, 0, 10, "by the interval poll")
        time.sleep(1.5)  # a watcher that kept trying would have logged again by now
        assert _log_count(cfg, "offers no IDLE") == 1
        assert _log_count(cfg, FAILED) == 0
        _assert_each_filed_and_answered_once(count, smtp, 1)
