"""Issue 4 end to end: Dovecot → filed → staff act from the CLI → emails at a real SMTP server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from openpyxl import load_workbook

from intake_bot.bootstrap import App, build, load_reference_data
from intake_bot.config import load_settings
from intake_bot.samples import DOCX, SUBJECT, docx_form, email, new_request
from intake_bot.store import migrate
from intake_bot.worker import Worker
from tests.conftest import sql_store
from tests.servers import DovecotServer, SmtpServer

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
REQUESTER = "aisha.khan@nhs.net"


@dataclass
class Rig:
    app: App
    config: Path
    env: dict[str, str]
    dovecot: DovecotServer
    smtp: SmtpServer

    def deliver(self, raw: bytes) -> None:
        with self.dovecot.client() as client:
            client.append("INBOX", raw)

    def cycle(self) -> None:
        poll, send = Worker(self.app).run_once()
        assert poll is not None and poll.errors == 0
        assert send is not None and send.failed == 0

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "intake_bot", "--config", str(self.config), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=self.config.parent,
        )

    def staff(self, *args: str) -> str:
        done = self.cli(*args)
        assert done.returncode == 0, done.stderr + done.stdout
        return done.stdout

    def inbox(self, address: str) -> list[EmailMessage]:
        return [
            message_from_bytes(m.raw, policy=default)
            for m in self.smtp.messages()
            if address in m.rcpt_tos
        ]


@pytest.fixture
def rig(tmp_path: Path, dovecot: DovecotServer, smtp: SmtpServer) -> Iterator[Rig]:
    dovecot.reset()
    cfg = tmp_path / "intake-bot.toml"
    cfg.write_text(f"""
[mailbox]
url = "imap://{dovecot.user}@{dovecot.host}:{dovecot.port}/INBOX?tls=none"
allow_plain_auth = true

[database]
url = "sqlite:///{tmp_path / "intake.db"}"

[outgoing]
url = "smtp://{smtp.user}@{smtp.host}:{smtp.port}?tls=none"
allow_plain_auth = true
from_address = "dsfc.enquiries@example.nhs.uk"

[paths]
s251 = "{REPO / "config/s251.toml"}"
organisations = "{REPO / "config/organisations.toml"}"
templates = "{REPO / "templates"}"
""")
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_BOT_")}
    env["INTAKE_BOT_MAILBOX_PASSWORD"] = dovecot.password
    env["INTAKE_BOT_OUTGOING_PASSWORD"] = smtp.password or ""
    env["COLUMNS"] = "200"
    app = build(load_settings(cfg, env=env))
    migrate.upgrade(sql_store(app))
    load_reference_data(app)
    yield Rig(app, cfg, env, dovecot, smtp)
    sql_store(app).dispose()


def _text(msg: EmailMessage) -> str:
    body = msg.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def test_new_request_approved_from_the_cli_is_published_once_every_consent_is_given(
    rig: Rig, tmp_path: Path
) -> None:
    original = email(
        sender=REQUESTER,
        attachments=[("f.docx", DOCX, docx_form(new_request(0, processor_consent="No")))],
    )
    original_id = str(message_from_bytes(original, policy=default)["Message-ID"]).strip()
    rig.deliver(original)
    rig.cycle()
    rig.staff("request", "set-status", "LR-000001", "in_review", "--by", "Sam Staff")
    out = rig.staff("request", "set-status", "LR-000001", "approved", "--by", "Sam Staff")
    assert "LCR-000001" in out
    rig.cycle()

    ack, reviewing, approved = rig.inbox(REQUESTER)
    assert "[LR-000001] Request received" in str(ack["Subject"])
    assert "[LR-000001] Approved" in str(approved["Subject"])
    for reply in (ack, reviewing, approved):
        assert str(reply["In-Reply-To"]).strip() == original_id  # threaded on their own email
    assert original_id in str(approved["References"])
    assert "LCR-000001" in _text(approved)

    export = tmp_path / "register.xlsx"
    rig.staff("register", "export", "--format", "xlsx", "-o", str(export))
    assert _register_refs(export) == []  # approved, but the processor has not consented

    change = new_request(
        0,
        request_type="Change to an existing relationship",
        existing_reference="LCR-000001",
        change_description="The data processor now consents to publication.",
        processor_consent="Yes",
    )
    rig.deliver(email(sender=REQUESTER, attachments=[("c.docx", DOCX, docx_form(change))]))
    rig.cycle()
    queue = rig.staff("queue", "--json")
    assert '"north/change"' in queue
    rig.staff("request", "set-status", "LR-000002", "in_review")
    rig.staff("request", "set-status", "LR-000002", "approved")
    rig.staff("register", "export", "--format", "xlsx", "-o", str(export))
    assert _register_refs(export) == ["LCR-000001"]


def _register_refs(path: Path) -> list[str]:
    sheet = load_workbook(path, read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    return [str(r[0]) for r in rows[1:] if r and r[0]]


def test_a_corrected_form_sent_as_a_reply_completes_the_same_request(rig: Rig) -> None:
    bad = new_request(1, contract_signed_date="31/13/2016")
    rig.deliver(email(sender=REQUESTER, attachments=[("f.docx", DOCX, docx_form(bad))]))
    rig.cycle()
    (ack,) = rig.inbox(REQUESTER)
    assert "Action needed" in str(ack["Subject"])

    fixed = email(
        sender=REQUESTER,
        subject="RE: " + str(ack["Subject"]),
        attachments=[("fixed.docx", DOCX, docx_form(new_request(1)))],
        headers={"In-Reply-To": str(ack["Message-ID"]), "References": str(ack["Message-ID"])},
    )
    rig.deliver(fixed)
    rig.cycle()

    with rig.app.store.unit() as unit:
        requests = unit.requests.matching(limit=100)
        assert len(requests) == 1  # no second request
        (request,) = requests
        assert request.status == "triaged" and request.problems == []
        assert len(unit.messages.replies_to(request.id or 0)) == 1
    detail = rig.staff("request", "show", "LR-000001", "--json")
    assert detail.count('"sender": "aisha.khan@nhs.net"') == 2  # both emails in its history
    second = rig.inbox(REQUESTER)[-1]
    assert "[LR-000001] Request received" in str(second["Subject"])


def test_a_change_from_an_unregistered_address_waits_for_verification(rig: Rig) -> None:
    rig.deliver(email(sender=REQUESTER, attachments=[("f.docx", DOCX, docx_form(new_request(0)))]))
    rig.cycle()
    rig.staff("request", "set-status", "LR-000001", "in_review")
    rig.staff("request", "set-status", "LR-000001", "approved")

    change = new_request(
        2,
        request_type="End a relationship",
        existing_reference="LCR-000001",
        change_description="Contract ended.",
        requester_email="mallory@nhs.net",
    )
    rig.deliver(
        email(
            sender="mallory@nhs.net",
            sender_name="Mallory",
            subject=SUBJECT,
            attachments=[("e.docx", DOCX, docx_form(change))],
        )
    )
    rig.cycle()
    items = rig.staff("queue", "--json")
    assert '"midlands-and-east/verification"' in items
    with rig.app.store.unit() as unit:
        request = unit.requests.get(2)
        assert request is not None and request.status == "verification"
        assert any("not a registered contact" in f["message"] for f in request.flags)
    listing = rig.staff("register", "list", "--json")
    assert "LCR-000001" in listing  # still published, unchanged
    refused = rig.cli("request", "set-status", "LR-000002", "approved")
    assert refused.returncode == 1 and "verification" in refused.stderr
