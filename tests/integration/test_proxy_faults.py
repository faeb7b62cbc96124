"""Connections cut mid-command between a real worker and real servers (a TCP proxy in between):
nothing is lost and nothing is done twice (DESIGN invariants 1 and 2).

IMAP is cut during the FETCH of the message bodies and during the flag (STORE) and the move,
both before the server read the command and after it carried it out (its answer lost): the
worker files every message once, and the next `run --once` settles what the cut left. SMTP is
cut in the middle of a message's DATA (the server never accepted it: it is sent again later,
once) and right after its final dot (the server accepted it but its "250" was lost: the one
resend the outbox allows).
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter as Tally
from dataclasses import replace
from pathlib import Path

import pytest

from tests.integration.worker_procs import (
    Counter,
    append_requests,
    database,
    worker_env,
    write_config,
)
from tests.servers import DovecotServer, SmtpServer
from tests.tcp_proxy import Cut, TcpProxy

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N_IMAP = 30  # three FETCH batches of 10 (write_config's fetch_batch): the cut hits the second
N_SMTP = 8

IMAP_CUTS = {
    "fetch-mid-answer": Cut(b"BODY.PEEK[]", server_bytes=5000, skip=1),
    "store-unread": Cut(b"UID STORE", client_bytes=0, skip=1),
    "store-done-answer-lost": Cut(b"UID STORE", server_bytes=0, skip=1),
    "move-unread": Cut(b"UID MOVE", client_bytes=0, skip=1),
    "move-done-answer-lost": Cut(b"UID MOVE", server_bytes=0, skip=1),
}
SMTP_CUTS = {
    # 200 bytes into the third message: the server sees half a message and drops it.
    "mid-data": (Cut(b"DATA\r\n", client_bytes=200, skip=2), 0),
    # The third message whole, its "250" lost: sent again, at most once.
    "after-final-dot": (Cut(b"\r\n.\r\n", server_bytes=0, skip=2), 1),
}


def _run_once(cfg: Path, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "intake_bot", "--config", str(cfg), "run", "--once"],
        env=env,
        cwd=cfg.parent,
        capture_output=True,
        timeout=120,
        check=False,
    )


def _why(done: subprocess.CompletedProcess[bytes]) -> str:
    return f"exit {done.returncode}:\n{done.stderr.decode(errors='replace')[-3000:]}"


@pytest.mark.parametrize("where", list(IMAP_CUTS))
def test_imap_cut_mid_command_files_every_message_once_and_settles_it_on_the_next_poll(
    where: str, tmp_path: Path, dovecot: DovecotServer, smtp: SmtpServer
) -> None:
    cut = IMAP_CUTS[where]
    dovecot.reset()
    append_requests(dovecot, N_IMAP)
    with database("sqlite", tmp_path) as url, TcpProxy((dovecot.host, dovecot.port)) as proxy:
        cfg = write_config(tmp_path / "w.toml", url, dovecot, smtp.port, imap_port=proxy.port)
        env = worker_env(dovecot, smtp)
        proxy.arm(replace(cut))  # a fresh copy: a Cut counts its matches
        first = _run_once(cfg, env)
        assert proxy.cuts == 1, f"the proxy never cut ({where}): {_why(first)}"
        assert first.returncode in (0, 2), _why(first)  # 2: the mailbox could not be polled
        count = Counter(url)
        try:
            assert count("SELECT count(*) FROM inbound_message") < N_IMAP, "the cut changed nothing"
            second = _run_once(cfg, env)
            assert second.returncode == 0, _why(second)
            _assert_each_filed_and_answered_once(count, smtp, N_IMAP)
        finally:
            count.close()
    _assert_mailbox_settled(dovecot, N_IMAP)


@pytest.mark.parametrize("where", list(SMTP_CUTS))
def test_smtp_cut_mid_message_loses_nothing_and_resends_at_most_once(
    where: str, tmp_path: Path, dovecot: DovecotServer, smtp: SmtpServer
) -> None:
    cut, resends_allowed = SMTP_CUTS[where]
    dovecot.reset()
    append_requests(dovecot, N_SMTP)
    with database("sqlite", tmp_path) as url, TcpProxy((smtp.host, smtp.port)) as proxy:
        cfg = write_config(tmp_path / "w.toml", url, dovecot, proxy.port)
        env = worker_env(dovecot, smtp)
        proxy.arm(replace(cut))  # a fresh copy: a Cut counts its matches
        first = _run_once(cfg, env)
        assert first.returncode == 0, _why(first)
        assert proxy.cuts == 1, f"the proxy never cut ({where}): {_why(first)}"
        count = Counter(url)
        try:
            # The cut email is retried after its back-off (1 s), by the next run.
            second = _run_once(cfg, env)
            assert second.returncode == 0, _why(second)
            _assert_each_filed_and_answered_once(count, smtp, N_SMTP, resends=resends_allowed)
        finally:
            count.close()
    _assert_mailbox_settled(dovecot, N_SMTP)


def _assert_each_filed_and_answered_once(
    count: Counter, smtp: SmtpServer, n: int, *, resends: int = 0
) -> None:
    assert count("SELECT count(*) FROM inbound_message") == n
    assert count("SELECT count(DISTINCT dedupe_key) FROM inbound_message") == n
    assert count("SELECT count(*) FROM inbound_message WHERE outcome = 'quarantined'") == 0
    assert count("SELECT count(*) FROM request") == n
    assert count("SELECT count(*) FROM outbox") == n
    assert count("SELECT count(*) FROM outbox WHERE status <> 'sent'") == 0
    expected = {str(row[0]) for row in count.rows("SELECT message_id FROM outbox")}
    received = Tally((m.message_id or "").strip() for m in smtp.messages())
    assert set(received) == expected, "an acknowledgement never arrived"
    resent = sum(times - 1 for times in received.values())
    assert resent <= resends, f"{resent} acknowledgement(s) sent twice: {received.most_common(3)}"


def _assert_mailbox_settled(dovecot: DovecotServer, n: int) -> None:
    with dovecot.client() as client:
        client.select_folder("INBOX", readonly=True)
        assert client.search("ALL") == [], "a message was left in INBOX"
        client.select_folder("Processed", readonly=True)
        flagged = client.get_flags(client.search("ALL"))
        assert len(flagged) == n, f"{len(flagged)} messages in Processed, expected {n}"
        assert all(b"$IntakeBotFiled" in flags for flags in flagged.values())
