"""The network steps every server check shares (`intake-bot check`): DNS, TCP, and what a TLS
handshake showed or why it failed. The protocol steps are in imap_probe.py and smtp_probe.py."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509

from intake_bot.domain.connectivity import Finding
from intake_bot.mail.imap_settings import is_loopback

CONNECT_CAP = 15.0  # seconds: an unreachable host is reported soon, whatever the timeout says
EXPIRY_WARNING_DAYS = 30


@dataclass(frozen=True)
class Server:
    """Where a check connects, and what to name in a fix."""

    subject: str  # "mailbox enquiries", "outgoing"
    setting: str  # the URL's setting, e.g. "mailbox[1].url", "outgoing.url"
    label: str  # the settings block, e.g. "mailbox[1]", "outgoing"
    host: str
    port: int
    tls: str  # "ssl" (TLS from the first byte), "starttls" or "none"
    timeout: float  # each command's; connecting gets at most CONNECT_CAP of it
    ca_file: Path | None = None

    @property
    def connect_timeout(self) -> float:
        return min(CONNECT_CAP, self.timeout)

    def context(self) -> ssl.SSLContext:
        """The context that verifies the server, trusting `ca_file` if the settings name one."""
        return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)

    def finding(
        self, step: str, ok: bool, detail: str, fix: str = "", warning: bool = False
    ) -> Finding:
        return Finding(self.subject, step, ok, detail, fix, warning)


def resolve(server: Server) -> tuple[Finding, list[str]]:
    """DNS: the addresses the host has (none: the finding says why)."""
    host = server.host
    if _is_address(host):
        return server.finding("DNS", True, f"{host} is an address: nothing to look up"), [host]
    answer: list[object] = []

    def lookup() -> None:
        try:
            answer.append(socket.getaddrinfo(host, server.port, type=socket.SOCK_STREAM))
        except OSError as exc:
            answer.append(exc)

    # getaddrinfo has no timeout of its own: wait for it on a thread that may be left behind.
    worker = threading.Thread(target=lookup, name=f"dns {host}", daemon=True)
    worker.start()
    worker.join(server.connect_timeout)
    fix = f"check the host name in {server.setting}, and that this machine's DNS can resolve it"
    if not answer:
        wait = f"{server.connect_timeout:g} s"
        return server.finding("DNS", False, f"no DNS answer for {host} within {wait}", fix), []
    result = answer[0]
    if isinstance(result, OSError):
        why = result.strerror or str(result)
        return server.finding("DNS", False, f"{host} does not resolve: {why}", fix), []
    assert isinstance(result, list)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in result))
    return server.finding("DNS", True, f"{host} resolves to {', '.join(addresses)}"), addresses


def reach(server: Server) -> Generator[Finding, None, bool]:
    """DNS, then TCP: each finding in turn; whether the server was reached."""
    found, addresses = resolve(server)
    yield found
    if not addresses:
        return False
    found = connect(server, addresses)
    yield found
    return found.ok


def connect(server: Server, addresses: list[str]) -> Finding:
    """TCP: the first address that accepts a connection, and how long it took."""
    failures: list[tuple[str, OSError]] = []
    for address in addresses:
        started = time.monotonic()
        try:
            with socket.create_connection((address, server.port), server.connect_timeout):
                took = (time.monotonic() - started) * 1000
        except OSError as exc:
            failures.append((address, exc))
            continue
        where = _where(address, server.port)
        shown = f"{took:.1f}" if took < 10 else f"{took:.0f}"
        return server.finding("TCP", True, f"connected to {where} in {shown} ms")
    return _tcp_fault(server, failures)


def _tcp_fault(server: Server, failures: list[tuple[str, OSError]]) -> Finding:
    address, exc = failures[-1]
    where = _where(address, server.port)
    if isinstance(exc, ConnectionRefusedError):
        detail = f"nothing listens on {where} (connection refused)"
        fix = f"check the port in {server.setting}, and that the server is running"
    elif isinstance(exc, TimeoutError):
        detail = f"no answer from {where} within {server.connect_timeout:g} s"
        fix = (
            f"check the host and port in {server.setting}; a firewall may be dropping the "
            "connection, or the server is down"
        )
    else:
        detail = f"cannot connect to {where}: {exc.strerror or exc}"
        fix = f"check the host and port in {server.setting}, and this machine's network"
    if len(failures) > 1:
        detail += f" (and {len(failures) - 1} other address(es) failed too)"
    return server.finding("TCP", False, detail, fix)


def certificate_finding(
    server: Server, der: bytes | None, version: str | None, how: str, now: datetime | None = None
) -> Finding:
    """TLS that worked: the protocol, whose certificate, who issued it, when it runs out."""
    if der is None:
        return server.finding("TLS", True, f"{how}, {version or 'TLS'}; no certificate shown")
    cert = x509.load_der_x509_certificate(der)
    days = _days_left(cert, now)
    expires = cert.not_valid_after_utc.strftime("%d/%m/%Y")
    detail = (
        f"{how}, {version or 'TLS'}; certificate {_name(cert.subject)} issued by "
        f"{_name(cert.issuer)}, verified; expires {expires} (in {_days(days)})"
    )
    if days < EXPIRY_WARNING_DAYS:
        fix = f"renew the server's certificate before {expires} (or ask whoever runs the server)"
        return server.finding("TLS", True, detail, fix, warning=True)
    return server.finding("TLS", True, detail)


def untrusted_finding(
    server: Server, exc: ssl.SSLCertVerificationError, der: bytes | None, how: str
) -> Finding:
    """TLS whose certificate this machine does not trust; `der` read on a second, unverified
    handshake (nothing is sent on it) so that the operator sees what the server showed."""
    why = exc.verify_message or exc.reason or str(exc)
    shown = ""
    if der is not None:
        cert = x509.load_der_x509_certificate(der)
        expires = cert.not_valid_after_utc.strftime("%d/%m/%Y")
        shown = (
            f"; it shows {_name(cert.subject)} issued by {_name(cert.issuer)}, expiring {expires}"
        )
    if "hostname" in why.lower():
        fix = f"connect by a name the certificate carries (the host in {server.setting})"
    else:
        fix = (
            f"if the server's certificate comes from a private CA, put that CA's certificate "
            f"(PEM) in {server.label}.ca_file; otherwise the server's certificate must be fixed"
        )
    detail = f"{how}: the certificate is not trusted: {why}{shown}; no password was sent"
    return server.finding("TLS", False, detail, fix)


def tls_fault(server: Server, exc: BaseException, how: str) -> Finding:
    """A handshake that failed for another reason than trust (often the wrong kind of port)."""
    text = f"{type(exc).__name__}: {exc}".strip()
    if server.tls == "ssl":
        fix = (
            f"this port may not speak TLS from the first byte: check the port in "
            f"{server.setting}, or use STARTTLS (imap:// on 143, smtp:// on 587)"
        )
    else:
        fix = f"check the port in {server.setting} and that the server offers STARTTLS"
    return server.finding("TLS", False, f"{how} failed: {text}", fix)


def plain_finding(server: Server) -> Finding:
    """No TLS at all: fine on loopback (a test server), a warning anywhere else."""
    if is_loopback(server.host):
        return server.finding("TLS", True, "none (tls=none), on this machine only")
    return server.finding(
        "TLS",
        True,
        "none (tls=none): the password and mail travel unencrypted",
        fix=f"use TLS: imaps://, smtps:// or tls=starttls in {server.setting}",
        warning=True,
    )


def unverified_context() -> ssl.SSLContext:
    """For reading the certificate of a server that failed verification, and nothing else."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def describe_error(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _days_left(cert: x509.Certificate, now: datetime | None) -> int:
    return (cert.not_valid_after_utc - (now or datetime.now(UTC))).days


def _days(days: int) -> str:
    if days < 0:
        return f"expired {-days} day(s) ago"
    return "less than a day" if days == 0 else f"{days} day{'s' if days != 1 else ''}"


def _name(name: x509.Name) -> str:
    return name.rfc4514_string() or "(no name)"


def _where(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
