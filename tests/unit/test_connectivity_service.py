"""`intake-bot check`'s service on fake probes: every mailbox then the outgoing server, one
mailbox by name, a probe that breaks costs its own subject only; and the pure parts of the
probes: what a token and a certificate are said to carry."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from intake_bot.config import ConfigError
from intake_bot.domain.connectivity import Finding
from intake_bot.mail.imap_probe import ImapCheck, _capabilities
from intake_bot.mail.probe_auth import Login, describe_token, token_step
from intake_bot.mail.probe_net import Server, certificate_finding
from intake_bot.mail.tokens import CredentialsError, StaticToken
from intake_bot.services.connectivity import Connectivity, UnknownMailboxError

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _steps(subject: str, *steps: tuple[str, bool]) -> Iterator[Finding]:
    for step, ok in steps:
        yield Finding(subject, step, ok, f"{step} {'works' if ok else 'fails'}")


def _service(**broken: Exception) -> Connectivity:
    """Mailboxes "North" and "South"; `broken` names a mailbox whose probe raises part way."""

    def probe(name: str) -> Iterator[Finding]:
        yield from _steps(f"mailbox {name}", ("DNS", True), ("TCP", True))
        if name in broken:
            raise broken[name]
        yield from _steps(f"mailbox {name}", ("login", name != "South"))

    return Connectivity(
        mailboxes=["North", "South"],
        probe_mailbox=probe,
        probe_outgoing=lambda: _steps("outgoing", ("DNS", True), ("AUTH", True)),
    )


def test_every_mailbox_then_the_outgoing_server_in_order_as_they_are_found() -> None:
    heard: list[Finding] = []
    report = _service().check(on_finding=heard.append)
    assert list(report.findings) == heard
    assert [(s, [f.step for f in fs]) for s, fs in report.by_subject()] == [
        ("mailbox North", ["DNS", "TCP", "login"]),
        ("mailbox South", ["DNS", "TCP", "login"]),
        ("outgoing", ["DNS", "AUTH"]),
    ]
    assert not report.ok
    assert [(f.subject, f.step) for f in report.faults] == [("mailbox South", "login")]


def test_one_mailbox_by_its_name_in_any_case_and_the_outgoing_server() -> None:
    report = _service().check(" north ")
    assert [s for s, _ in report.by_subject()] == ["mailbox North", "outgoing"]
    assert report.ok


def test_a_name_that_is_no_mailbox_lists_the_names_there_are() -> None:
    with pytest.raises(UnknownMailboxError, match=r"'East'.*North, South"):
        _service().check("East")


def test_a_probe_that_breaks_ends_its_own_subject_only() -> None:
    report = _service(
        North=RuntimeError("boom"), South=ConfigError("mailbox[1].url: no host")
    ).check()
    north = dict(report.by_subject())["mailbox North"]
    assert [f.step for f in north] == ["DNS", "TCP", "check"]
    assert not north[-1].ok and "RuntimeError: boom" in north[-1].detail
    south = dict(report.by_subject())["mailbox South"]
    assert (south[-1].step, south[-1].detail) == ("settings", "mailbox[1].url: no host")
    assert [f.step for f in dict(report.by_subject())["outgoing"]] == ["DNS", "AUTH"]


def test_a_warning_is_reported_but_does_not_fail() -> None:
    service = Connectivity(
        mailboxes=["North"],
        probe_mailbox=lambda name: [
            Finding("mailbox North", "TLS", True, "expires", "renew", True)
        ],
        probe_outgoing=lambda: [],
    )
    report = service.check()
    assert report.ok and [f.step for f in report.warnings] == ["TLS"]


# -- what a token is said to carry ----------------------------------------------------------


def _jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2ln"


def test_a_jwt_is_described_by_audience_scopes_and_expiry() -> None:
    token = _jwt(
        {"aud": "https://outlook.office.com", "scp": "IMAP.AccessAsUser.All offline_access",
         "exp": NOW.timestamp() + 50 * 60, "upn": "someone@nhs.net"}
    )  # fmt: skip
    what, lacking, expired = describe_token(token, "imap", NOW)
    assert what == (
        "for https://outlook.office.com, scopes IMAP.AccessAsUser.All offline_access, "
        "expires in 50 min"
    )
    assert lacking is None and not expired
    assert "someone" not in what


def test_a_microsoft_token_without_the_protocols_grant_says_which_one_is_wanted() -> None:
    token = _jwt({"aud": "https://outlook.office365.com", "roles": ["Mail.Read"]})
    what, lacking, _ = describe_token(token, "smtp", NOW)
    assert what == "for https://outlook.office365.com, roles Mail.Read"
    assert lacking is not None and "SMTP.SendAsApp, SMTP.Send" in lacking


def test_an_opaque_token_is_said_to_be_one() -> None:
    what, lacking, expired = describe_token("not-a-jwt", "imap", NOW)
    assert "opaque" in what and lacking is None and not expired


SERVER = Server("mailbox enquiries", "mailbox.url", "mailbox", "mail.example", 993, "ssl", 60.0)


def test_an_expired_token_fails_and_is_never_shown() -> None:
    token = _jwt({"scp": "IMAP.AccessAsUser.All", "exp": NOW.timestamp() - 600})
    login = Login("intake", "oauth2-token-file", provider=StaticToken(token))
    found, got = token_step(SERVER, login, "imap", NOW)
    assert got is None and not found.ok
    assert "expired 10 min ago" in found.detail and "oauth2_token_file" in found.fix
    assert token not in found.detail + found.fix


class _Refusing:
    name = "mailbox"

    def token(self) -> str:
        raise CredentialsError(
            "mailbox: the token was refused (invalid_client: AADSTS7000215)",
            permanent=True,
            fix="make a new client secret",
        )

    def invalidate(self) -> None: ...

    def fingerprint(self) -> str:
        return "x"


def test_a_refused_token_request_names_the_fix_the_provider_gives() -> None:
    found, got = token_step(
        SERVER, Login("intake", "oauth2-client-credentials", provider=_Refusing()), "imap"
    )
    assert got is None and not found.ok
    assert (
        found.detail == "no token: mailbox: the token was refused (invalid_client: AADSTS7000215)"
    )
    assert found.fix == "make a new client secret"


# -- what a certificate is said to be -------------------------------------------------------


def _certificate(days: int) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.example")])
    issuer = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example CA")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=300))
        .not_valid_after(NOW + timedelta(days=days, hours=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(Encoding.DER)


def test_a_certificate_that_expires_within_30_days_is_a_warning() -> None:
    found = certificate_finding(SERVER, _certificate(12), "TLSv1.3", "STARTTLS", NOW)
    assert found.ok and found.warning
    assert found.detail == (
        "STARTTLS, TLSv1.3; certificate CN=mail.example issued by O=Example CA, verified; "
        "expires 14/03/2026 (in 12 days)"
    )
    assert "renew" in found.fix and "14/03/2026" in found.fix


def test_a_certificate_with_months_left_is_simply_fine() -> None:
    found = certificate_finding(SERVER, _certificate(90), "TLSv1.3", "STARTTLS", NOW)
    assert found.ok and not found.warning and found.fix == ""
    assert "(in 90 days)" in found.detail


# -- what a server without the extensions means ---------------------------------------------


class _BareServer:
    """The part of an IMAPClient the capability step reads: a server with no extensions."""

    def capabilities(self) -> tuple[bytes, ...]:
        return (b"IMAP4REV1", b"CONDSTORE")


def test_a_server_without_idle_move_or_uidplus_says_what_that_means() -> None:
    check = ImapCheck(SERVER, "INBOX", "Processed", "Quarantine", "subject", poll_interval=90)
    found = list(_capabilities(check, _BareServer()))
    assert [f.detail for f in found] == [
        "IDLE missing: polling only, every 90 s",
        "MOVE missing: a move is a copy, then a delete",
        "UIDPLUS missing too: after a copy the originals stay, marked \\Deleted, until the "
        "server or a person expunges them",
        "CONDSTORE present: not needed: the bot reads by UID",
    ]
    assert all(f.ok for f in found)
    assert [f.warning for f in found] == [False, False, True, False]
