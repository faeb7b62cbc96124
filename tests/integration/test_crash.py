"""Kill -9 the worker mid-batch and start it again: nothing lost, nothing filed twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from intake_bot.samples import DOCX, docx_form, email, new_request
from tests.servers import DovecotServer, SmtpServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
N = 150


def _config(tmp_path: Path, dovecot: DovecotServer, smtp: SmtpServer) -> Path:
    cfg = tmp_path / "crash.toml"
    cfg.write_text(f"""
[mailbox]
url = "imap://{dovecot.user}@{dovecot.host}:{dovecot.port}/INBOX?tls=none"
allow_plain_auth = true
poll_interval_seconds = 5
fetch_batch = 10
lease_seconds = 2

[database]
url = "sqlite:///{tmp_path / "crash.db"}"

[outgoing]
url = "smtp://{smtp.user}@{smtp.host}:{smtp.port}?tls=none"
allow_plain_auth = true
send_interval_seconds = 1
backoff_seconds = 1
claim_seconds = 2

[paths]
s251 = "{REPO / "config/s251.toml"}"
organisations = "{REPO / "config/organisations.toml"}"
templates = "{REPO / "templates"}"
""")
    return cfg


def _env(dovecot: DovecotServer, smtp: SmtpServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_BOT_")}
    env["INTAKE_BOT_MAILBOX_PASSWORD"] = dovecot.password
    env["INTAKE_BOT_OUTGOING_PASSWORD"] = smtp.password or ""
    return env


def _count(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # the schema is not there yet


def _start(cfg: Path, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    log = (cfg.parent / "worker.log").open("ab")  # a file, not a pipe: a full pipe would block it
    return subprocess.Popen(
        [sys.executable, "-m", "intake_bot", "--config", str(cfg), "run", *args],
        env=env,
        cwd=cfg.parent,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )


def _log_tail(proc: subprocess.Popen[bytes]) -> str:
    return Path(proc.args[4]).parent.joinpath("worker.log").read_text(errors="replace")[-3000:]  # type: ignore[index]


def _kill_when(proc: subprocess.Popen[bytes], condition: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"worker exited early: {_log_tail(proc)}")
        if condition():  # type: ignore[operator]
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            return
        time.sleep(0.005)
    proc.kill()
    raise AssertionError(f"the condition to kill the worker never came: {_log_tail(proc)}")


def test_sigkill_mid_batch_loses_nothing_and_files_nothing_twice(
    tmp_path: Path, dovecot: DovecotServer, smtp: SmtpServer
) -> None:
    dovecot.reset()
    with dovecot.client() as client:
        for i in range(N):
            raw = email(
                sender=f"user{i}@nhs.net", attachments=[("f.docx", DOCX, docx_form(new_request(i)))]
            )
            client.append("INBOX", raw)
    cfg, env = _config(tmp_path, dovecot, smtp), _env(dovecot, smtp)
    db = tmp_path / "crash.db"
    filed = "SELECT count(*) FROM inbound_message"
    sent = "SELECT count(*) FROM outbox WHERE status = 'sent'"

    kills = 0
    for fraction in (0.2, 0.45, 0.7):  # killed while filing, at three points of the backlog
        _kill_when(_start(cfg, env), lambda f=fraction: _count(db, filed) >= int(N * f))
        kills += 1
    # killed while sending: some replies out, some not
    _kill_when(_start(cfg, env), lambda: _count(db, sent) > 0 and _count(db, filed) == N)
    kills += 1

    time.sleep(2.5)  # the killed sender's claims lapse (claim_seconds)
    for _ in range(3):  # let it finish: poll what is left, then send what is due
        done = subprocess.run(
            [sys.executable, "-m", "intake_bot", "--config", str(cfg), "run", "--once"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()[-3000:]

    assert _count(db, filed) == N
    assert _count(db, "SELECT count(*) FROM request") == N
    assert _count(db, "SELECT count(DISTINCT dedupe_key) FROM inbound_message") == N
    assert _count(db, "SELECT count(*) FROM outbox") == N
    assert _count(db, "SELECT count(*) FROM outbox WHERE status <> 'sent'") == 0
    with sqlite3.connect(db) as conn:
        expected_ids = {row[0] for row in conn.execute("SELECT message_id FROM outbox")}
    received = Counter((m.message_id or "").strip() for m in smtp.messages())
    assert set(received) == expected_ids  # every acknowledgement arrived
    resent = sum(n - 1 for n in received.values())
    assert resent <= kills, f"{resent} duplicates for {kills} kills: {received.most_common(3)}"
    with dovecot.client() as client:
        client.select_folder("INBOX", readonly=True)
        assert client.search("ALL") == []
        client.select_folder("Processed", readonly=True)
        assert len(client.search("ALL")) == N
