"""`run --once` against a mailbox the server cannot serve: one line naming the mailbox and
what is wrong, exit 2, no traceback — and a good mailbox in the same config is still filed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from intake_bot.mail.maildir import deliver
from intake_bot.samples import DOCX, docx_form, email, new_request
from tests.servers import DovecotServer

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, boxes: str) -> Path:
    cfg = tmp_path / "intake-bot.toml"
    cfg.write_text(
        f"""
{boxes}
[database]
url = "sqlite:///{tmp_path / "bot.db"}"
[outgoing]
url = "file:{tmp_path / "outbox"}"
[paths]
s251 = "{REPO / "config/s251.toml"}"
organisations = "{REPO / "config/organisations.toml"}"
"""
    )
    return cfg


def _imap(name: str, dovecot: DovecotServer, folder: str, password_file: Path) -> str:
    return f"""
[[mailbox]]
name = "{name}"
url = "imap://{dovecot.user}@{dovecot.host}:{dovecot.port}/{folder}?tls=none"
allow_plain_auth = true
password_file = "{password_file}"
"""


def _run_once(cfg: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "intake_bot", "--config", str(cfg), "run", "--once"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cfg.parent,
        check=False,
    )


def test_a_folder_that_does_not_exist_is_one_line_naming_the_mailbox_and_exit_2(
    tmp_path: Path, dovecot: DovecotServer
) -> None:
    secret = tmp_path / "imap-password"
    secret.write_text(dovecot.password)
    cfg = _config(tmp_path, _imap("enquiries", dovecot, "NoSuchFolder", secret))
    done = _run_once(cfg)
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 2, done.stderr
    assert len(errors) == 1 and "mailbox enquiries" in errors[0], done.stderr
    assert "NoSuchFolder" in errors[0]
    assert "Traceback" not in done.stdout + done.stderr


def test_a_wrong_password_fails_its_mailbox_only_and_the_maildir_is_filed(
    tmp_path: Path, dovecot: DovecotServer
) -> None:
    secret = tmp_path / "imap-password"
    secret.write_text("not-the-password")
    maildir = tmp_path / "mail"
    deliver(maildir, email(attachments=[("f.docx", DOCX, docx_form(new_request(0)))]))
    boxes = _imap("broken", dovecot, "INBOX", secret) + (
        f'\n[[mailbox]]\nname = "local"\nurl = "maildir:{maildir}"\n'
    )
    done = _run_once(_config(tmp_path, boxes))
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 0, done.stderr  # one mailbox worked
    assert len(errors) == 1 and "mailbox broken" in errors[0], done.stderr
    assert "1 request(s) filed" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
