"""Real worker processes for the crash, fault and several-worker tests: their settings, their
start and their death, and counting rows while they run (SQLite or PostgreSQL).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from intake_bot.samples import DOCX, docx_form, email, new_request
from intake_bot.store import migrate
from intake_bot.store.store import Store
from tests.conftest import REPO
from tests.servers import (
    DovecotServer,
    SmtpServer,
    postgres_reachable,
    require,
    temporary_postgres_database,
)


@contextmanager
def database(kind: str, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database of `kind` ("sqlite" or "postgres"): its URL."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'worker.db'}"
        _migrate(url)
        yield url
        return
    reachable, reason = postgres_reachable()
    require(reachable, reason)
    with temporary_postgres_database() as url:
        _migrate(url)
        yield url


def _migrate(url: str) -> None:
    store = Store.from_url(url)
    migrate.upgrade(store)
    store.dispose()


def write_config(
    path: Path,
    database_url: str,
    dovecot: DovecotServer,
    smtp_port: int,
    *,
    imap_port: int | None = None,
    extra: str = "",
) -> Path:
    """Settings for a worker on the test servers (ports given to go through a proxy)."""
    path.write_text(f"""
log_level = "INFO"
[mailbox]
url = "imap://{dovecot.user}@{dovecot.host}:{imap_port or dovecot.port}/INBOX?tls=none"
allow_plain_auth = true
poll_interval_seconds = 5
fetch_batch = 10
lease_seconds = 1
timeout_seconds = 10

[database]
url = "{database_url}"

[outgoing]
url = "smtp://mailer@127.0.0.1:{smtp_port}?tls=none"
allow_plain_auth = true
send_interval_seconds = 1
backoff_seconds = 1
claim_seconds = 6
timeout_seconds = 3

[digest]
enabled = false

[reminders]
enabled = false

[paths]
s251 = "{REPO / "config/s251.toml"}"
organisations = "{REPO / "config/organisations.toml"}"
templates = "{REPO / "templates"}"
{extra}
""")
    return path


def worker_env(dovecot: DovecotServer, smtp: SmtpServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_BOT_")}
    env["INTAKE_BOT_MAILBOX_PASSWORD"] = dovecot.password
    env["INTAKE_BOT_OUTGOING_PASSWORD"] = smtp.password or ""
    return env


def append_requests(dovecot: DovecotServer, n: int, *, first: int = 0) -> None:
    """`n` request emails, each from its own sender (no rate limit), into INBOX."""
    with dovecot.client() as client:
        for i in range(first, first + n):
            raw = email(
                sender=f"user{i}@nhs.net", attachments=[("f.docx", DOCX, docx_form(new_request(i)))]
            )
            client.append("INBOX", raw)


def start(cfg: Path, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    """`intake-bot run ARGS`, its stderr appended to worker.log next to `cfg` (not a pipe: a
    full pipe would block it)."""
    log = (cfg.parent / "worker.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "intake_bot", "--config", str(cfg), "run", *args],
        env=env,
        cwd=cfg.parent,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )


def log_tail(cfg: Path, size: int = 3000) -> str:
    return (cfg.parent / "worker.log").read_text(errors="replace")[-size:]


def starts(cfg: Path) -> int:
    """How many workers logged their start so far."""
    log = cfg.parent / "worker.log"
    return log.read_text(errors="replace").count("started; mailboxes") if log.exists() else 0


def run_once(cfg: Path, env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "intake_bot", "--config", str(cfg), "run", "--once"],
        env=env,
        cwd=cfg.parent,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]


def wait_for(condition: Callable[[], bool], timeout: float, what: str, cfg: Path) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} never came:\n{log_tail(cfg)}")
        time.sleep(0.005)


def kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


class Counter:
    """SQL counts while workers run; 0 while the tables are not there yet."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url)

    def __call__(self, sql: str) -> int:
        try:
            with self.engine.connect() as conn:
                return int(conn.execute(text(sql)).scalar_one())
        except DBAPIError:
            return 0

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        with self.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]

    def close(self) -> None:
        self.engine.dispose()
