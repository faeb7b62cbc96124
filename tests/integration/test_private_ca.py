"""`ca_file`: a mail server whose certificate a private CA signed is trusted when the settings
name that CA, and refused (without sending a password) when they do not."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from intake_bot.bootstrap import make_transport
from intake_bot.config import Settings, load_settings
from intake_bot.mail.sources import open_source
from intake_bot.ports import MailboxError, SendError
from intake_bot.samples import email
from tests.servers import (
    DovecotServer,
    SmtpServer,
    find_dovecot,
    private_dovecot,
    require,
    running_smtp_server,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tls_dovecot() -> Iterator[DovecotServer]:
    require(find_dovecot() is not None, "Dovecot is not installed")
    require(shutil.which("openssl") is not None, "openssl is not installed")
    with private_dovecot(tls=True) as server:
        yield server


def _settings(dovecot: DovecotServer, smtp: SmtpServer, ca: Path | None) -> Settings:
    env = {
        "INTAKE_BOT_MAILBOX_URL": (f"imaps://{dovecot.user}@localhost:{dovecot.tls_port}/INBOX"),
        "INTAKE_BOT_MAILBOX_PASSWORD": dovecot.password,
        "INTAKE_BOT_OUTGOING_URL": f"smtp://localhost:{smtp.port}",
    }
    if ca is not None:
        env["INTAKE_BOT_MAILBOX_CA_FILE"] = str(ca)
        env["INTAKE_BOT_OUTGOING_CA_FILE"] = str(ca)
    return load_settings(None, env=env)


def test_a_private_ca_is_trusted_when_named_and_refused_when_not(
    tls_dovecot: DovecotServer, tmp_path: Path
) -> None:
    assert tls_dovecot.certificate is not None
    with running_smtp_server(tls=True) as smtp:
        assert smtp.certificate is not None
        # Both test servers' certificates, as one CA bundle.
        bundle = tmp_path / "ca.pem"
        bundle.write_bytes(tls_dovecot.certificate.read_bytes() + smtp.certificate.read_bytes())
        trusted = _settings(tls_dovecot, smtp, bundle)
        source = open_source(trusted, trusted.mailbox)
        try:
            assert source.changes(None).candidates == []
        finally:
            source.close()
        transport = make_transport(trusted)
        try:
            transport.send(
                sender="dsfc@example.nhs.uk",
                recipients=["someone@nhs.net"],
                raw=email(to="someone@nhs.net"),
                message_id="<ca-test@example>",
            )
        finally:
            transport.close()
        assert len(smtp.messages()) == 1

        untrusted = _settings(tls_dovecot, smtp, None)
        source = open_source(untrusted, untrusted.mailbox)
        with pytest.raises(MailboxError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify"):
            source.changes(None)
        source.close()
        transport = make_transport(untrusted)
        with pytest.raises(SendError):
            transport.send(
                sender="dsfc@example.nhs.uk",
                recipients=["someone@nhs.net"],
                raw=email(to="someone@nhs.net"),
                message_id="<ca-test-2@example>",
            )
        transport.close()
        assert len(smtp.messages()) == 1
