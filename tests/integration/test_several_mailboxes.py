"""Several mailboxes in one config, with the worker running as it does in production.

One mailbox that fails (a wrong password, a server that stops answering, a server that is gone)
never holds up another: the good one's requests are filed and acknowledged within one poll
interval, `intake-bot status` names the broken one, and its fault is logged once.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from intake_bot.cli.common import State
from intake_bot.cli.status import status
from intake_bot.mail.maildir import deliver
from intake_bot.samples import DOCX, docx_form, email, new_request
from tests.servers import DovecotServer, SmtpServer, private_dovecot

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
INTERVAL = 5  # seconds, the shortest poll interval the settings allow
SLACK = 3.0  # seconds on top of one interval: a poll, the filing and the send
OFFICES = "".join(
    f'[[dscro]]\nname = "{name}"\nstaff = ["dscro.{slug}@example.nhs.uk"]\n'
    for name, slug in [("North", "north"), ("Midlands and East", "me"), ("London", "london"),
                       ("South", "south")]
)  # fmt: skip


def _form(i: int) -> bytes:
    sender = f"requester{i}@nhs.net"
    return email(sender=sender, attachments=[("f.docx", DOCX, docx_form(new_request(i)))])


def _imap_box(name: str, server: DovecotServer, password_file: Path, timeout: int = 60) -> str:
    return f"""
[[mailbox]]
name = "{name}"
url = "imap://{server.user}@{server.host}:{server.port}/INBOX?tls=none"
allow_plain_auth = true
password_file = "{password_file}"
poll_interval_seconds = {INTERVAL}
timeout_seconds = {timeout}
"""


def _maildir_box(name: str, path: Path) -> str:
    return f"""
[[mailbox]]
name = "{name}"
url = "maildir:{path}"
poll_interval_seconds = {INTERVAL}
"""


def _config(tmp_path: Path, smtp: SmtpServer, *boxes: str) -> Path:
    cfg = tmp_path / "several.toml"
    cfg.write_text(
        "".join(boxes)
        + f"""
[database]
url = "sqlite:///{tmp_path / "several.db"}"

[outgoing]
url = "smtp://{smtp.user}@{smtp.host}:{smtp.port}?tls=none"
allow_plain_auth = true
from_address = "dsfc.enquiries@example.nhs.uk"
# Only a poll that queued replies wakes the sender: an acknowledgement that arrives within
# one poll interval proves the poll ran.
send_interval_seconds = 600

[digest]
enabled = false

[reminders]
enabled = false

{OFFICES}
[paths]
s251 = "{REPO / "config/s251.toml"}"
organisations = "{REPO / "config/organisations.toml"}"
"""
    )
    return cfg


def _secret(tmp_path: Path, name: str, value: str) -> Path:
    path = tmp_path / f"{name}.secret"
    path.write_text(value + "\n")
    return path


@contextmanager
def _worker(cfg: Path, smtp: SmtpServer) -> Iterator[Callable[[], str]]:
    """`intake-bot run` in a process of its own; yields a function that reads its log."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_BOT_")}
    env["INTAKE_BOT_OUTGOING_PASSWORD"] = smtp.password or ""
    log = cfg.parent / "worker.log"
    with log.open("ab") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "intake_bot", "--config", str(cfg), "run"],
            env=env,
            cwd=cfg.parent,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )

    def read() -> str:
        return log.read_text(errors="replace")

    try:
        _wait_until(lambda: "started" in read(), 60, read)
        yield read
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _wait_until(condition: Callable[[], bool], timeout: float, log: Callable[[], str]) -> float:
    """Seconds it took for `condition` to hold; fails with the worker's log after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"waited {timeout} s in vain; worker log:\n{log()[-4000:]}")
        time.sleep(0.05)
    return time.monotonic() - started


def _last_poll(db: Path, mailbox: str) -> str | None:
    """When the last poll of `mailbox` ended, as the store keeps it (None before the first)."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            row = conn.execute(
                "SELECT polled_at FROM mailbox_cursor WHERE mailbox = ?", (mailbox,)
            ).fetchone()
    except sqlite3.OperationalError:
        return None  # no schema yet
    return str(row[0]) if row and row[0] else None


def _faults_logged(log: str, mailbox: str) -> list[str]:
    return [
        line for line in log.splitlines() if "WARNING" in line and f"mailbox {mailbox}:" in line
    ]


def _status(cfg: Path) -> tuple[int, str]:
    """`intake-bot status` on `cfg` (the command as the CLI registers it)."""
    cli = typer.Typer()

    @cli.callback()
    def main(ctx: typer.Context, config: Annotated[Path, typer.Option("--config")]) -> None:
        ctx.obj = State(config=config)

    cli.command("status")(status)
    result = CliRunner().invoke(cli, ["--config", str(cfg), "status"])
    return result.exit_code, result.output


def test_a_wrong_password_never_holds_up_a_maildir_and_is_logged_once(
    tmp_path: Path, dovecot: DovecotServer, smtp: SmtpServer
) -> None:
    dovecot.reset()
    maildir = tmp_path / "mail"
    cfg = _config(
        tmp_path,
        smtp,
        _imap_box("shared", dovecot, _secret(tmp_path, "shared", "not-the-password")),
        _maildir_box("local", maildir),
    )
    db = tmp_path / "several.db"
    with _worker(cfg, smtp) as log:
        _wait_until(
            lambda: bool(_last_poll(db, "local") and _faults_logged(log(), "shared")), 30, log
        )

        deliver(maildir, _form(1))
        took = _wait_until(lambda: len(smtp.messages()) == 1, 30, log)

        assert took <= INTERVAL + SLACK, f"acknowledged after {took:.1f} s"
        (ack,) = smtp.messages()
        assert ack.rcpt_tos == ("requester1@nhs.net",)
        time.sleep(3 * INTERVAL)  # three more polls of each mailbox
        text = log()
        (fault,) = _faults_logged(text, "shared")
        assert "AUTHENTICATIONFAILED" in fault and "not-the-password" not in text
        assert "Traceback" not in text
        code, shown = _status(cfg)

    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT mailbox, outcome FROM inbound_message").fetchall() == [
            ("local", "filed")
        ]
        assert conn.execute("SELECT count(*) FROM request").fetchone() == (1,)
    assert code == 1, shown  # a mailbox is failing
    shared = next(line for line in shown.splitlines() if "shared" in line)
    local = next(line for line in shown.splitlines() if "local" in line)
    assert "failing" in shared and "ok" in local, shown


def test_a_dovecot_that_stops_answering_then_goes_away_never_holds_up_another(
    tmp_path: Path, dovecot: DovecotServer, smtp: SmtpServer
) -> None:
    dovecot.reset()
    db = tmp_path / "several.db"
    with private_dovecot() as second:
        cfg = _config(
            tmp_path,
            smtp,
            _imap_box("first", dovecot, _secret(tmp_path, "first", dovecot.password)),
            # Stopped, it still accepts connections and then never answers: a poll of it hangs
            # for this long, far beyond the other mailbox's interval.
            _imap_box("second", second, _secret(tmp_path, "second", second.password), timeout=40),
        )
        with _worker(cfg, smtp) as log:
            with dovecot.client() as client:
                client.append("INBOX", _form(1))
            with second.client() as client:
                client.append("INBOX", _form(2))
            _wait_until(lambda: len(smtp.messages()) == 2, 30, log)

            os.killpg(second.process.pid, signal.SIGSTOP)
            try:
                time.sleep(INTERVAL)  # a poll of the second is now stuck
                for i in (3, 4):
                    with dovecot.client() as client:
                        client.append("INBOX", _form(i))

                    def acknowledged(n: int = i) -> bool:
                        return len(smtp.messages()) == n

                    took = _wait_until(acknowledged, 30, log)
                    assert took <= INTERVAL + SLACK, f"acknowledged after {took:.1f} s"
                stuck_since = _last_poll(db, "second")
            finally:
                os.killpg(second.process.pid, signal.SIGCONT)
            # The stuck poll goes on where it stopped and ends well, and no fault was logged.
            _wait_until(lambda: _last_poll(db, "second") != stuck_since, 60, log)
            assert _faults_logged(log(), "second") == []
            second.stop()  # now gone altogether: connections are refused

            with dovecot.client() as client:
                client.append("INBOX", _form(5))
            took = _wait_until(lambda: len(smtp.messages()) == 5, 30, log)
            assert took <= INTERVAL + SLACK, f"acknowledged after {took:.1f} s"
            _wait_until(lambda: bool(_faults_logged(log(), "second")), 60, log)
            time.sleep(3 * INTERVAL)
            text = log()
            code, shown = _status(cfg)

    assert len(_faults_logged(text, "second")) == 1, _faults_logged(text, "second")
    assert _faults_logged(text, "first") == []
    assert "Traceback" not in text and "skipped" not in text
    recipients = sorted(m.rcpt_tos[0] for m in smtp.messages())
    assert recipients == [f"requester{i}@nhs.net" for i in range(1, 6)]
    assert code == 1
    second_line = next(line for line in shown.splitlines() if "second" in line)
    assert "failing" in second_line, shown
