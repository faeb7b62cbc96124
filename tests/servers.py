"""Real servers on loopback for the integration tests: Dovecot (IMAP), an SMTP server, PostgreSQL.

A pytest plugin (fixtures `dovecot`, `smtp_server`, `smtp`, `postgres_url`) whose servers can also
be had outside pytest as context managers (`private_dovecot`, `running_smtp_server`,
`temporary_postgres_database`), e.g. by the benchmark scripts.

A server that cannot be had skips the test with the reason, or fails it when CI=true.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import grp
import os
import pwd
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from imapclient import IMAPClient

LOOPBACK = "127.0.0.1"
DEFAULT_USERS = {"intake": "intake-secret", "other": "other-secret"}
ADMIN_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def require(condition: bool, reason: str) -> None:
    """Skip the test when `condition` is false, or fail it when running under CI (CI=true)."""
    if condition:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and a required server is missing: {reason}", pytrace=False)
    pytest.skip(reason)


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


# -- Dovecot ---------------------------------------------------------------------------------


def find_dovecot() -> str | None:
    """The dovecot binary (Debian puts it in /usr/sbin, often not on a user's PATH)."""
    return shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")


class DovecotError(RuntimeError):
    """The private Dovecot did not start or did not answer."""


@dataclass
class DovecotServer:
    """A running private Dovecot: plain IMAP on loopback, password logins, Maildir storage."""

    host: str
    port: int
    users: dict[str, str]
    root: Path
    config: Path
    log: Path
    process: subprocess.Popen[bytes]
    mail_root: Path
    tls_port: int | None = None  # implicit TLS (IMAPS); the plain port then offers STARTTLS
    certificate: Path | None = None

    @property
    def user(self) -> str:
        return next(iter(self.users))

    @property
    def password(self) -> str:
        return self.users[self.user]

    @property
    def maildir(self) -> Path:
        """The Maildir of the first user."""
        return self.maildir_of(self.user)

    def maildir_of(self, user: str) -> Path:
        """Where `user`'s mail is stored; read it, but change mail through IMAP (`client()`)."""
        return self.mail_root / user / "Maildir"

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's self-signed certificate."""
        if self.certificate is None:
            raise RuntimeError("this Dovecot was started without tls=True")
        return ssl.create_default_context(cafile=str(self.certificate))

    def client(self, user: str | None = None, timeout: float = 10.0) -> IMAPClient:
        """A new logged-in IMAPClient (use it in a `with` block so that it logs out)."""
        name = user or self.user
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=timeout)
        client.login(name, self.users[name])
        return client

    def reset(self, user: str | None = None) -> None:
        """Delete every folder but INBOX and every message, through IMAP so the indexes agree."""
        with self.client(user) as client:
            names = [name for _flags, _sep, name in client.list_folders()]
            for name in sorted(names, key=len, reverse=True):  # children before their parents
                if name.upper() != "INBOX":
                    client.delete_folder(name)
            for _flags, _sep, name in client.list_sub_folders():
                if name.upper() != "INBOX":
                    client.unsubscribe_folder(name)
            client.select_folder("INBOX")
            uids = client.search("ALL")
            if uids:
                client.delete_messages(uids)
                client.expunge()

    def kick(self, user: str | None = None) -> bool:
        """Drop every IMAP connection of `user` from the server side; False if there was none."""
        doveadm = shutil.which("doveadm") or "/usr/bin/doveadm"
        done = subprocess.run(
            [doveadm, "-c", str(self.config), "kick", user or self.user],
            capture_output=True,
            timeout=15,
            check=False,
        )
        if done.returncode == 68:  # doveadm's "not found": nobody was connected
            return False
        if done.returncode != 0:
            raise DovecotError(f"doveadm kick failed: {done.stderr.decode(errors='replace')}")
        return True

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Stop Dovecot and all its processes (they share its process group)."""
        _stop_process_group(self.process)


@contextmanager
def private_dovecot(
    tmpdir: Path | None = None,
    users: Mapping[str, str] | None = None,
    *,
    tls: bool = False,
    startup_timeout: float = 20.0,
    extra_config: str = "",
) -> Iterator[DovecotServer]:
    """Start a Dovecot of our own on a free loopback port; stop it (and clean up) on exit.

    With `tls`, a self-signed certificate (made with `openssl`) enables STARTTLS on the plain
    port and implicit TLS on `tls_port`; plaintext logins stay allowed. `extra_config` is appended
    to the configuration (e.g. `imap_capability = ...`).

    Everything (config, sockets, state, log, mail) lives under `tmpdir`, or under a new temporary
    folder that is removed afterwards. Run as root, mail is stored as `nobody`, because Dovecot
    refuses mail access as root; `tmpdir` must then be reachable by that user.
    """
    binary = find_dovecot()
    if binary is None:
        raise DovecotError("dovecot is not installed (Debian: apt-get install dovecot-imapd)")
    owned = tmpdir is None
    root = Path(tempfile.mkdtemp(prefix="intake-bot-dovecot-")) if tmpdir is None else tmpdir
    if os.geteuid() == 0:
        root.chmod(0o755)  # Dovecot's unprivileged processes read their files below it
    try:
        server = _start_dovecot(
            binary, root, dict(users or DEFAULT_USERS), tls, startup_timeout, extra_config
        )
        try:
            yield server
        finally:
            server.stop()
    finally:
        if owned:
            shutil.rmtree(root, ignore_errors=True)


def _start_dovecot(
    binary: str, root: Path, users: dict[str, str], tls: bool, timeout: float, extra: str = ""
) -> DovecotServer:
    for attempt in range(3):  # the free port may be taken between choosing and binding it
        server = _launch_dovecot(binary, root / f"instance-{attempt}", users, tls, extra)
        try:
            _wait_until_ready(server, timeout)
        except DovecotError:
            server.stop()
            if "in use" in server.log_tail() and attempt < 2:
                continue
            raise
        return server
    raise AssertionError("unreachable")


def _launch_dovecot(
    binary: str, root: Path, users: dict[str, str], tls: bool, extra: str = ""
) -> DovecotServer:
    uid, gid, identity = _identities()
    for sub in ("run", "state", "mail"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:  # the login and mail processes must reach their files
        for path in (root, root / "mail"):
            path.chmod(0o755)
    mail_root = root / "mail"
    lines = []
    for name, password in users.items():
        if ":" in name + password or "\n" in name + password:
            raise ValueError("user names and passwords may not contain ':' or newlines")
        home = mail_root / name
        home.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            os.chown(home, uid, gid)
        lines.append(f"{name}:{{PLAIN}}{password}:{uid}:{gid}::{home}::\n")
    passwd = root / "users"
    passwd.write_text("".join(lines))
    passwd.chmod(0o644)
    port = free_port()
    certificate, tls_port, tls_settings = None, None, "ssl = no\n"
    if tls:
        certificate, key = _self_signed_certificate(root)
        key.chmod(0o600)
        tls_port = free_port()
        tls_settings = f"ssl = yes\nssl_cert = <{certificate}\nssl_key = <{key}\n"
    config = root / "dovecot.conf"
    log = root / "dovecot.log"
    config.write_text(
        _dovecot_config(root, passwd, log, (port, tls_port or 0), identity + tls_settings) + extra
    )
    with log.open("ab") as stderr:
        process = subprocess.Popen(
            [binary, "-F", "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,  # its own process group, so that stop() ends every child
        )
    return DovecotServer(
        LOOPBACK, port, users, root, config, log, process, mail_root, tls_port, certificate
    )


def _identities() -> tuple[int, int, str]:
    """(uid, gid) to store mail as, and the settings for the user Dovecot's helpers run as."""
    if os.geteuid() != 0:
        # Without root Dovecot cannot switch users: everything runs as the current user.
        user = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
        settings = (
            f"default_internal_user = {user}\n"
            f"default_login_user = {user}\n"
            f"default_internal_group = {group}\n"
        )
        return os.getuid(), os.getgid(), settings
    try:
        nobody = pwd.getpwnam("nobody")
        return nobody.pw_uid, nobody.pw_gid, ""
    except KeyError:
        return 65534, 65534, ""


def _dovecot_config(
    root: Path, passwd: Path, log: Path, ports: tuple[int, int], settings: str
) -> str:
    port, tls_port = ports
    return f"""# A private, loopback-only Dovecot for tests: plaintext logins allowed.
base_dir = {root / "run"}
state_dir = {root / "state"}
instance_name = intake-bot-test-{port}
log_path = {log}
{settings}protocols = imap
listen = {LOOPBACK}
disable_plaintext_auth = no
auth_mechanisms = plain login
# No slow-down after a failed login: tests try wrong passwords on purpose.
auth_failure_delay = 0
first_valid_uid = 1
mail_location = maildir:~/Maildir
mail_fsync = never
protocol imap {{
  mail_max_userip_connections = 500
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {passwd}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {LOOPBACK}
    port = {port}
  }}
  inet_listener imaps {{
    address = {LOOPBACK}
    port = {tls_port}
  }}
}}
service anvil {{
  chroot =
  # Unreachable, so the auth process keeps no per-IP penalty (a growing login delay).
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


def _wait_until_ready(server: DovecotServer, timeout: float) -> None:
    """Until the port greets with `* OK` and every user can open INBOX."""
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            code = server.process.returncode
            raise DovecotError(f"dovecot exited ({code}):\n{server.log_tail()}")
        if _greets(server.host, server.port):
            break
        if time.monotonic() > deadline:
            raise DovecotError(f"dovecot did not answer in {timeout:.0f} s:\n{server.log_tail()}")
        time.sleep(0.05)
    for user in server.users:
        try:
            with server.client(user) as client:
                client.select_folder("INBOX")
        except Exception as exc:
            raise DovecotError(f"{user} cannot open INBOX ({exc}):\n{server.log_tail()}") from exc


def _greets(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0) as sock:
            return sock.recv(64).startswith(b"* OK")
    except OSError:
        return False


def _stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the whole group while the master (the group's leader) still runs."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


# -- SMTP ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedMessage:
    """One message as the SMTP server received it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message_id: str | None
    login: str | None  # the authenticated user, if any
    peer: tuple[str, int]  # the client's address: equal for messages sent on one connection
    tls: bool


@dataclass
class _Recorder:
    """The aiosmtpd handler: keeps what it receives, refuses when told to."""

    messages: list[ReceivedMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    refusal: tuple[str, str] | None = None  # (stage "rcpt" | "data", reply)
    delay: float = 0.0  # seconds each DATA waits before it is answered (a slow server)
    gate: threading.Event = field(default_factory=threading.Event)  # clear: DATA is held
    held: int = 0  # DATA commands waiting at the gate now

    def __post_init__(self) -> None:
        self.gate.set()

    async def _wait_for_turn(self) -> None:
        """The configured delay, and the gate (asyncio: other sessions go on meanwhile)."""
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.gate.is_set():
            return
        with self.lock:
            self.held += 1
        try:
            while not self.gate.is_set():
                await asyncio.sleep(0.005)
        finally:
            with self.lock:
                self.held -= 1

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.refusal and self.refusal[0] == "rcpt":
            return self.refusal[1]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusal and self.refusal[0] == "data":
            return self.refusal[1]
        await self._wait_for_turn()
        raw = bytes(envelope.original_content)
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        auth = session.auth_data
        login = auth.login.decode() if session.authenticated and auth is not None else None
        received = ReceivedMessage(
            mail_from=envelope.mail_from,
            rcpt_tos=tuple(envelope.rcpt_tos),
            raw=raw,
            message_id=str(parsed["Message-ID"]) if parsed["Message-ID"] else None,
            login=login,
            peer=(session.peer[0], session.peer[1]),
            tls=server.transport.get_extra_info("ssl_object") is not None,
        )
        with self.lock:
            self.messages.append(received)
        return "250 Message accepted for delivery"


class SmtpServer:
    """An aiosmtpd server on a loopback port that records what it receives.

    With `user`, AUTH PLAIN/LOGIN is offered (also without TLS: loopback only); `login` on each
    received message says who logged in.
    With `tls=True`, STARTTLS is offered with a self-signed certificate for localhost/127.0.0.1
    (with `implicit_tls=True`, TLS from the first byte instead); `client_ssl_context()` trusts it.
    With `delay_seconds`, each message waits that long before it is accepted (a slow server;
    sessions still run side by side); `hold()` keeps every DATA waiting until `release()`.
    """

    def __init__(
        self,
        *,
        user: str | None = None,
        password: str | None = None,
        tls: bool = False,
        implicit_tls: bool = False,
        auth_require_tls: bool = False,
        workdir: Path | None = None,
        delay_seconds: float = 0.0,
    ) -> None:
        self.host = LOOPBACK
        self.port = free_port()
        self.user = user
        self.password = password
        self._auth_require_tls = auth_require_tls
        self._recorder = _Recorder(delay=delay_seconds)
        self._controller: Any = None
        self._implicit_tls = implicit_tls
        self.certificate: Path | None = None
        self._server_context: ssl.SSLContext | None = None
        if tls or implicit_tls:
            if workdir is None:
                workdir = Path(tempfile.mkdtemp(prefix="intake-bot-smtp-"))
                weakref.finalize(self, shutil.rmtree, workdir, ignore_errors=True)
            self.certificate, key = _self_signed_certificate(workdir)
            self._server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._server_context.load_cert_chain(self.certificate, key)

    def start(self) -> None:
        """Listen (again) on the same port."""
        if self._controller is not None:
            return
        from aiosmtpd.controller import Controller

        auth: dict[str, Any] = {}
        if self.user is not None:
            auth = {
                "authenticator": self._authenticate,
                "auth_require_tls": self._auth_require_tls,
            }
        controller = Controller(
            self._recorder,
            hostname=self.host,
            port=self.port,
            server_hostname="localhost",  # not getfqdn(), which may wait on DNS
            ssl_context=self._server_context if self._implicit_tls else None,
            tls_context=None if self._implicit_tls else self._server_context,
            **auth,
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        """Stop listening and drop every open connection (as a server going down would)."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    @property
    def running(self) -> bool:
        return self._controller is not None

    def messages(self) -> list[ReceivedMessage]:
        with self._recorder.lock:
            return list(self._recorder.messages)

    def clear(self) -> None:
        """Forget what was received and accept everything again (no DATA held)."""
        with self._recorder.lock:
            self._recorder.messages.clear()
        self.accept()
        self.release()

    def hold(self) -> None:
        """Keep every DATA waiting (unanswered) until `release()`."""
        self._recorder.gate.clear()

    def release(self) -> None:
        self._recorder.gate.set()

    def held(self) -> int:
        """How many sessions wait at `hold()` right now."""
        with self._recorder.lock:
            return self._recorder.held

    def refuse(self, reply: str = "554 5.7.1 Refused for the test", *, stage: str = "data") -> None:
        """Answer every RCPT or DATA with `reply` (e.g. "451 4.3.0 Try later")."""
        if stage not in ("rcpt", "data"):
            raise ValueError("stage is 'rcpt' or 'data'")
        self._recorder.refusal = (stage, reply)

    def accept(self) -> None:
        self._recorder.refusal = None

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's certificate."""
        if self.certificate is None:
            raise RuntimeError("this server was started without tls=True")
        return ssl.create_default_context(cafile=str(self.certificate))

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if not isinstance(auth_data, LoginPassword) or self.user is None:
            return AuthResult(success=False, handled=False)
        ok = auth_data.login.decode() == self.user and auth_data.password.decode() == self.password
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


@contextmanager
def running_smtp_server(**options: Any) -> Iterator[SmtpServer]:
    """An `SmtpServer` (see its options) that is stopped on exit."""
    with tempfile.TemporaryDirectory(prefix="intake-bot-smtp-") as workdir:
        server = SmtpServer(workdir=Path(workdir), **options)
        server.start()
        try:
            yield server
        finally:
            server.stop()


def _self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("openssl is needed to make a test certificate")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


# -- PostgreSQL ------------------------------------------------------------------------------


@contextmanager
def temporary_postgres_database(admin_url: str | None = None) -> Iterator[str]:
    """Create `intake_bot_test_<random>` and yield its SQLAlchemy URL; drop it on exit.

    `admin_url` (default: env INTAKE_BOT_TEST_POSTGRES, else the local `postgres` superuser) must be
    allowed to create databases.
    """
    import psycopg
    from psycopg import sql

    admin = admin_url or os.environ.get("INTAKE_BOT_TEST_POSTGRES") or ADMIN_POSTGRES_URL
    name = f"intake_bot_test_{secrets.token_hex(6)}"
    with psycopg.connect(_libpq_url(admin), autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_database(admin, name)
    finally:
        with psycopg.connect(_libpq_url(admin), autocommit=True, connect_timeout=5) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def postgres_reachable(admin_url: str | None = None) -> tuple[bool, str]:
    """(True, "") if the admin URL accepts a connection, else (False, why)."""
    admin = admin_url or os.environ.get("INTAKE_BOT_TEST_POSTGRES") or ADMIN_POSTGRES_URL
    try:
        import psycopg
    except ImportError:
        return False, "psycopg is not installed (pip install -e '.[test]')"
    try:
        with psycopg.connect(_libpq_url(admin), connect_timeout=5):
            return True, ""
    except psycopg.Error as exc:
        return False, f"PostgreSQL is not reachable at {_without_password(admin)}: {exc}".strip()


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}{parts.hostname or ''}{port}"))


def _libpq_url(url: str) -> str:
    """`postgresql+psycopg://...` (SQLAlchemy) -> `postgresql://...` (libpq)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme=parts.scheme.split("+", 1)[0]))


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """A private Dovecot for the session (TLS too if openssl is there); `reset()` empties it."""
    require(find_dovecot() is not None, "Dovecot is not installed (apt-get install dovecot-imapd)")
    with ExitStack() as stack:
        try:
            tls = shutil.which("openssl") is not None  # TLS tests skip without it
            server = stack.enter_context(private_dovecot(tls=tls))
        except DovecotError as exc:
            require(False, f"the private Dovecot did not start: {exc}")
            raise
        yield server


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    """An SMTP server for the session, requiring AUTH as `mailer` / `mailer-secret`."""
    with running_smtp_server(user="mailer", password="mailer-secret") as server:
        yield server


@pytest.fixture
def smtp(smtp_server: SmtpServer) -> SmtpServer:
    """The session SMTP server, running, empty and accepting."""
    smtp_server.start()
    smtp_server.clear()
    return smtp_server


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The SQLAlchemy URL of a fresh PostgreSQL database, dropped at the end of the session."""
    reachable, reason = postgres_reachable()
    require(reachable, reason)
    with temporary_postgres_database() as url:
        yield url
