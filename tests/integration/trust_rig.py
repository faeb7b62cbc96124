"""The worker against a private Dovecot and a real SMTP server, on SQLite and PostgreSQL, for the
hostile-mail tests: deliver, run one poll-and-send cycle, then count at the database and at the
SMTP server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest

from intake_bot.bootstrap import App, build, load_reference_data
from intake_bot.config import load_settings
from intake_bot.domain.records import Event, InboundMessage, Request
from intake_bot.store import migrate
from intake_bot.store.store import Store
from intake_bot.worker import Worker
from tests.servers import DovecotServer, SmtpServer

REPO = Path(__file__).resolve().parents[2]
OUR_ADDRESS = "dsfc.enquiries@example.nhs.uk"


@dataclass
class TrustRig:
    app: App
    dovecot: DovecotServer
    smtp: SmtpServer

    def deliver(self, *raws: bytes) -> None:
        with self.dovecot.client() as client:
            for raw in raws:
                client.append("INBOX", raw)

    def cycle(self) -> None:
        poll, send = Worker(self.app).run_once()
        assert poll is not None and poll.errors == 0
        assert send is not None and send.failed == 0

    def inbox(self, address: str) -> list[EmailMessage]:
        return [
            message_from_bytes(m.raw, policy=default)
            for m in self.smtp.messages()
            if address in m.rcpt_tos
        ]

    def requests(self) -> list[Request]:
        with self.app.store.unit() as unit:
            return unit.requests.matching()

    def messages(self) -> list[InboundMessage]:
        found = []
        with self.app.store.unit() as unit:
            n = 1
            while (message := unit.messages.get(n)) is not None:
                found.append(message)
                n += 1
        return found

    def events(self, request_id: int) -> list[Event]:
        with self.app.store.unit() as unit:
            return unit.events.for_(request_id=request_id)


@pytest.fixture
def trust_rig(
    tmp_path: Path, database_url: str, dovecot: DovecotServer, smtp: SmtpServer
) -> Iterator[TrustRig]:
    dovecot.reset()
    smtp.clear()
    cfg = tmp_path / "intake-bot.toml"
    cfg.write_text(f"""
[mailbox]
url = "imap://{dovecot.user}@{dovecot.host}:{dovecot.port}/INBOX?tls=none"
allow_plain_auth = true

[database]
url = "{database_url}"

[outgoing]
url = "smtp://{smtp.user}@{smtp.host}:{smtp.port}?tls=none"
allow_plain_auth = true
from_address = "{OUR_ADDRESS}"

[paths]
s251 = "{REPO / "config/s251.toml"}"
organisations = "{REPO / "config/organisations.toml"}"
templates = "{REPO / "templates"}"
""")
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_BOT_")}
    env["INTAKE_BOT_MAILBOX_PASSWORD"] = dovecot.password
    env["INTAKE_BOT_OUTGOING_PASSWORD"] = smtp.password or ""
    store = Store.from_url(database_url)
    app = build(load_settings(cfg, env=env), store=store)
    migrate.upgrade(store)
    load_reference_data(app)
    yield TrustRig(app, dovecot, smtp)
    store.dispose()


def text_of(msg: EmailMessage) -> str:
    body = msg.get_body(("plain",))
    assert body is not None
    return str(body.get_content())
