"""SmtpTransport against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from intake_bot.mail.smtp import SmtpTransport
from intake_bot.ports import SendError
from tests.servers import SmtpServer, free_port, running_smtp_server

pytestmark = pytest.mark.integration

SENDER = "intake@dsfc.example"


def message(message_id: str, body: bytes = b"Your request was received.\r\n") -> bytes:
    return (
        b"From: DSfC <intake@dsfc.example>\r\nTo: someone@nhs.example\r\n"
        b"Subject: Received\r\nMessage-ID: " + message_id.encode() + b"\r\n\r\n" + body
    )


def plain_transport(server: SmtpServer, **options: object) -> SmtpTransport:
    settings: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "username": server.user,
        "password": server.password,
        "timeout": 5.0,
        "local_hostname": "localhost",
        "allow_plain_auth": True,
    }
    settings.update(options)
    return SmtpTransport(**settings)  # type: ignore[arg-type]


def send_one(transport: SmtpTransport, tag: str) -> None:
    """Send a small message with Message-ID <tag@x> to a@nhs.example."""
    raw = message(f"<{tag}@x>")
    transport.send(sender=SENDER, recipients=["a@nhs.example"], raw=raw, message_id=tag)


@pytest.fixture
def transport(smtp: SmtpServer) -> Iterator[SmtpTransport]:
    sender = plain_transport(smtp)
    yield sender
    sender.close()


def test_sends_raw_bytes_with_envelope_after_login(
    smtp: SmtpServer, transport: SmtpTransport
) -> None:
    raw = message("<a1@dsfc.example>", body="Café – ok\r\n".encode())

    transport.send(sender=SENDER, recipients=["someone@nhs.example"], raw=raw, message_id="<a1>")

    [received] = smtp.messages()
    assert received.raw == raw
    assert received.mail_from == SENDER
    assert received.rcpt_tos == ("someone@nhs.example",)
    assert received.message_id == "<a1@dsfc.example>"
    assert received.login == "mailer"
    assert not received.tls


def test_one_connection_serves_several_messages(smtp: SmtpServer, transport: SmtpTransport) -> None:
    for n in range(3):
        raw = message(f"<m{n}@dsfc.example>")
        transport.send(sender=SENDER, recipients=["a@nhs.example"], raw=raw, message_id=str(n))

    peers = {received.peer for received in smtp.messages()}
    assert len(smtp.messages()) == 3
    assert len(peers) == 1


def test_server_down_is_a_temporary_error_and_sending_resumes(
    smtp: SmtpServer, transport: SmtpTransport
) -> None:
    send_one(transport, "1")
    smtp.stop()

    with pytest.raises(SendError) as caught:
        send_one(transport, "2")
    assert caught.value.permanent is False

    smtp.start()
    send_one(transport, "3")
    assert [m.message_id for m in smtp.messages()] == ["<1@x>", "<3@x>"]


def test_a_connection_closed_while_idle_is_reopened_once(
    smtp: SmtpServer, transport: SmtpTransport
) -> None:
    send_one(transport, "1")
    smtp.stop()  # drops the kept connection
    smtp.start()

    send_one(transport, "2")

    first, second = smtp.messages()
    assert first.peer != second.peer


def test_nothing_listening_is_a_temporary_error() -> None:
    sender = SmtpTransport(host="127.0.0.1", port=free_port(), security="none", timeout=2.0)
    with pytest.raises(SendError) as caught:
        send_one(sender, "1")
    assert caught.value.permanent is False


@pytest.mark.parametrize(
    ("reply", "stage", "permanent"),
    [
        ("554 5.6.0 Message rejected", "data", True),
        ("451 4.3.0 Try again later", "data", False),
        ("550 5.1.1 No such user", "rcpt", True),
        ("450 4.2.1 Mailbox busy", "rcpt", False),
    ],
)
def test_refusals_are_permanent_only_for_5xx(
    smtp: SmtpServer, transport: SmtpTransport, reply: str, stage: str, permanent: bool
) -> None:
    smtp.refuse(reply, stage=stage)

    with pytest.raises(SendError) as caught:
        send_one(transport, "1")

    assert caught.value.permanent is permanent
    assert reply.split()[0] in str(caught.value)
    smtp.accept()
    send_one(transport, "2")
    assert [m.message_id for m in smtp.messages()] == ["<2@x>"]


def test_wrong_password_is_a_temporary_error(smtp: SmtpServer) -> None:
    sender = plain_transport(smtp, password="wrong")
    with pytest.raises(SendError) as caught:
        send_one(sender, "1")
    assert caught.value.permanent is False
    assert "wrong" not in str(caught.value)
    assert smtp.messages() == []


def test_starttls_comes_before_login() -> None:
    with running_smtp_server(
        user="mailer", password="mailer-secret", tls=True, auth_require_tls=True
    ) as server:
        sender = SmtpTransport(
            host=server.host,
            port=server.port,
            security="starttls",
            username="mailer",
            password="mailer-secret",
            ssl_context=server.client_ssl_context(),
            local_hostname="localhost",
            timeout=5.0,
        )
        try:
            send_one(sender, "t")
        finally:
            sender.close()
        [received] = server.messages()
        assert received.tls and received.login == "mailer"


def test_implicit_tls() -> None:
    with running_smtp_server(user="mailer", password="mailer-secret", implicit_tls=True) as server:
        sender = SmtpTransport(
            host=server.host,
            port=server.port,
            security="ssl",
            username="mailer",
            password="mailer-secret",
            ssl_context=server.client_ssl_context(),
            local_hostname="localhost",
            timeout=5.0,
        )
        try:
            send_one(sender, "s")
        finally:
            sender.close()
        [received] = server.messages()
        assert received.tls and received.login == "mailer"


def test_an_untrusted_certificate_is_refused() -> None:
    with running_smtp_server(user="mailer", password="mailer-secret", tls=True) as server:
        sender = SmtpTransport(
            host=server.host,
            port=server.port,
            username="mailer",
            password="mailer-secret",
            local_hostname="localhost",
            timeout=5.0,
        )  # the system's CAs do not know the test certificate
        with pytest.raises(SendError, match="certificate") as caught:
            send_one(sender, "u")
        assert caught.value.permanent is False
        assert server.messages() == []


def test_starttls_missing_on_the_server_is_a_temporary_error(smtp: SmtpServer) -> None:
    sender = plain_transport(smtp, security="starttls", allow_plain_auth=False)
    with pytest.raises(SendError) as caught:
        send_one(sender, "1")
    assert caught.value.permanent is False
    assert smtp.messages() == []


def test_password_over_plain_text_needs_explicit_permission() -> None:
    with pytest.raises(ValueError, match="without TLS"):
        SmtpTransport(host="smtp.example", security="none", username="u", password="p")
    SmtpTransport(host="smtp.example", security="none", username="u", password="p",
                  allow_plain_auth=True)  # fmt: skip


def test_close_after_the_server_went_away(smtp: SmtpServer, transport: SmtpTransport) -> None:
    send_one(transport, "1")
    smtp.stop()
    transport.close()
    transport.close()
