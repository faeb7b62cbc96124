"""No log level writes message contents: a whole poll and send at DEBUG, over Dovecot, SMTP
and SQLite, and neither the body nor a form's text is in the log."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from intake_bot.samples import DOCX, docx_form, email, new_request
from tests.integration.worker_procs import database, worker_env, write_config
from tests.servers import DovecotServer, SmtpServer

pytestmark = pytest.mark.integration
BODY = "Quagga-body-3319 please file this"
FIELD = "Zebracorn Liaison 7741"


def test_a_poll_at_debug_logs_no_body_and_no_form_text(
    tmp_path: Path, dovecot: DovecotServer, smtp: SmtpServer
) -> None:
    dovecot.reset()
    form = docx_form(new_request(1, requester_role=FIELD))
    with dovecot.client() as client:
        client.append("INBOX", email(body=BODY, attachments=[("f.docx", DOCX, form)]))
    with database("sqlite", tmp_path) as url:
        cfg = write_config(tmp_path / "debug.toml", url, dovecot, smtp.port)
        env = {**worker_env(dovecot, smtp), "INTAKE_BOT_LOG_LEVEL": "DEBUG"}
        done = subprocess.run(
            [sys.executable, "-m", "intake_bot", "--config", str(cfg), "run", "--once"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            timeout=120,
            check=False,
        )
    log = done.stderr.decode(errors="replace")
    assert done.returncode == 0, log[-3000:]
    assert len(smtp.messages()) == 1  # it did file and answer
    assert '"level": "DEBUG"' in log  # DEBUG was on (and JSON, stderr being a pipe)
    assert "Quagga" not in log and "Zebracorn" not in log
