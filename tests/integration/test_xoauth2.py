"""OAuth 2.0 logins (SASL XOAUTH2) end to end, on real servers: the bot, built from its settings,
reads a private Dovecot and sends through an SMTP server with tokens from the test authorisation
server (tests/oauth_server.py), which both servers ask whether a token is good. A token that stops
working in the middle of a run is renewed without a failed poll; a revoked sign-in stops the
mailbox with a permanent error that names it."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from intake_bot.bootstrap import App, build, load_reference_data
from intake_bot.config import OAuth2Settings, Settings
from intake_bot.mail.oauth import provider_for
from intake_bot.mail.oauth_providers import ClientCredentials, Delegated
from intake_bot.mail.smtp import SmtpTransport
from intake_bot.mail.sources import open_source
from intake_bot.mail.tokens import CredentialsError, StaticToken
from intake_bot.ports import SendError
from intake_bot.samples import DOCX, docx_form, email, new_request
from intake_bot.store import migrate
from intake_bot.store.store import Store
from intake_bot.worker import Worker
from tests.conftest import FrozenClock, make_settings
from tests.oauth_server import OAuthServer, running_oauth_server
from tests.servers import DovecotError, DovecotServer, find_dovecot, require
from tests.xoauth2_servers import XOAuth2SmtpServer, oauth_dovecot, running_xoauth2_smtp_server

pytestmark = pytest.mark.integration

APP = "intake-bot-app"  # app-only: its tokens act for the mailbox `intake`
PUBLIC = "intake-bot-public"  # for a person's sign-in (device code)
SECRET = "app secret for the tests"
KEY = "a token key for the tests, long and random enough"
USER = "intake"  # the Dovecot user, and whom the app's tokens are for


@pytest.fixture(scope="module")
def oauth() -> Iterator[OAuthServer]:
    with running_oauth_server() as server:
        server.add_client(APP, secret=SECRET, user=USER)
        server.add_client(PUBLIC)
        yield server


@pytest.fixture(scope="module")
def imap_server(oauth: OAuthServer) -> Iterator[DovecotServer]:
    require(find_dovecot() is not None, "Dovecot is not installed (apt-get install dovecot-imapd)")
    with ExitStack() as stack:
        try:
            server = stack.enter_context(oauth_dovecot(oauth))
        except DovecotError as exc:
            require(False, f"the private Dovecot did not start: {exc}")
            raise
        yield server


@pytest.fixture(scope="module")
def smtp_module(oauth: OAuthServer) -> Iterator[XOAuth2SmtpServer]:
    with running_xoauth2_smtp_server(oauth) as server:
        yield server


@pytest.fixture
def smtp_server(smtp_module: XOAuth2SmtpServer) -> XOAuth2SmtpServer:
    smtp_module.clear()
    return smtp_module


def _oauth2(oauth: OAuthServer, client_id: str, **extra: str) -> str:
    return json.dumps(
        {"oidc_authority": oauth.authority, "client_id": client_id, "ca_file": str(oauth.ca_file)}
        | extra
    )


def _settings(
    tmp_path: Path,
    oauth: OAuthServer,
    imap: DovecotServer,
    smtp: XOAuth2SmtpServer,
    *,
    user: str = USER,
    **mailbox: object,
) -> Settings:
    """Client credentials for both the mailbox and the outgoing server, unless `mailbox` says
    otherwise."""
    secret = tmp_path / "client-secret"
    secret.write_text(SECRET)
    app_only = _oauth2(oauth, APP, client_secret_file=str(secret))
    box: dict[str, object] = {
        "url": f"imap://{user}@{imap.host}:{imap.port}/INBOX?tls=none",
        "auth": "oauth2-client-credentials",
        "oauth2": app_only,
        **mailbox,
    }
    outgoing: dict[str, object] = {
        "url": f"smtp://{USER}@{smtp.host}:{smtp.port}?tls=none",
        "allow_plain_auth": "true",
        "auth": "oauth2-client-credentials",
        "oauth2": app_only,
        "from_address": "dsfc.enquiries@example.nhs.uk",
    }
    # make_settings names INTAKE_BOT_<SECTION>_<KEY>: this is INTAKE_BOT_TOKEN_KEY.
    token: dict[str, object] = {"key": KEY}
    database = f"sqlite:///{tmp_path / 'intake.db'}"
    return make_settings(tmp_path, database, mailbox=box, outgoing=outgoing, token=token)


@pytest.fixture
def make_app(clock: FrozenClock) -> Iterator[Callable[[Settings], App]]:
    stores: list[Store] = []

    def make(settings: Settings) -> App:
        store = Store.from_url(settings.database_url())
        stores.append(store)
        app = build(settings, clock=clock, store=store)
        migrate.upgrade(store)
        load_reference_data(app)
        return app

    yield make
    for store in stores:
        store.dispose()


def _deliver(imap: DovecotServer, i: int, user: str = USER) -> None:
    raw = email(
        sender=f"requester{i}@nhs.net", attachments=[("f.docx", DOCX, docx_form(new_request(i)))]
    )
    with imap.client(user) as client:
        client.append("INBOX", raw)


def _dovecot_saw(imap: DovecotServer, user: str = USER) -> tuple[int, int]:
    """How many XOAUTH2 logins of `user` Dovecot took, and how many tokens it refused."""
    log = imap.log.read_text(errors="replace")
    return log.count(f"user=<{user}>, method=XOAUTH2"), log.count("Introspection failed")


def _sign_in(oauth: OAuthServer, provider: object, user: str) -> None:
    """A person signs in with the device code the provider shows, as `intake-bot auth login`."""
    assert isinstance(provider, Delegated)

    def approve(message: str) -> None:
        code = message.rsplit(" ", 1)[-1].rstrip(".")
        threading.Timer(0.2, oauth.sign_in, args=(code, user)).start()

    assert provider.login(approve) == user


def test_app_tokens_read_the_mailbox_file_the_request_and_send_the_acknowledgement(
    tmp_path: Path,
    oauth: OAuthServer,
    imap_server: DovecotServer,
    smtp_server: XOAuth2SmtpServer,
    make_app: Callable[[Settings], App],
) -> None:
    imap_server.reset()
    app = make_app(_settings(tmp_path, oauth, imap_server, smtp_server))
    _deliver(imap_server, 1)
    grants, (logins, _) = oauth.grants("client_credentials"), _dovecot_saw(imap_server)

    poll, send = Worker(app).run_once()

    assert poll is not None and (poll.filed, poll.errors) == (1, 0)
    assert _dovecot_saw(imap_server)[0] == logins + 1  # Dovecot took the token, not a password
    assert send is not None and send.sent == 1
    [ack] = smtp_server.messages()
    assert ack.rcpt_tos == ("requester1@nhs.net",) and ack.login == USER  # over XOAUTH2 only
    assert oauth.grants("client_credentials") == grants + 2  # one for IMAP, one for SMTP


def test_a_token_that_stops_working_mid_run_is_renewed_and_the_next_poll_files(
    tmp_path: Path,
    oauth: OAuthServer,
    imap_server: DovecotServer,
    smtp_server: XOAuth2SmtpServer,
    make_app: Callable[[Settings], App],
) -> None:
    imap_server.reset()
    app = make_app(_settings(tmp_path, oauth, imap_server, smtp_server))
    _deliver(imap_server, 1)
    first, _ = Worker(app).run_once()
    assert first is not None and first.filed == 1
    grants, refused = oauth.grants("client_credentials"), smtp_server.refused
    logins, refusals = _dovecot_saw(imap_server)

    # The servers no longer take the tokens the bot holds, which its cache thinks good for an hour.
    oauth.expire_access_tokens()
    _deliver(imap_server, 2)
    poll, send = Worker(app).run_once()

    assert poll is not None and (poll.filed, poll.errors) == (1, 0)
    assert send is not None and send.sent == 1
    assert oauth.grants("client_credentials") == grants + 2  # a new token for IMAP and for SMTP
    assert smtp_server.refused == refused + 1
    assert [m.rcpt_tos for m in smtp_server.messages()] == [
        ("requester1@nhs.net",),
        ("requester2@nhs.net",),
    ]
    # Dovecot and the SMTP server each refused the old token once, then took a new one.
    assert _dovecot_saw(imap_server) == (logins + 1, refusals + 1)


def test_a_delegated_sign_in_reads_the_mailbox_and_its_refresh_token_renews_access(
    tmp_path: Path,
    oauth: OAuthServer,
    imap_server: DovecotServer,
    smtp_server: XOAuth2SmtpServer,
    make_app: Callable[[Settings], App],
) -> None:
    imap_server.reset()
    delegated = _oauth2(oauth, PUBLIC, token_cache_file=str(tmp_path / "tokens.bin"))
    settings = _settings(
        tmp_path, oauth, imap_server, smtp_server, auth="oauth2-delegated", oauth2=delegated
    )
    app = make_app(settings)
    _sign_in(oauth, provider_for(settings, "mailbox", settings.mailbox, "imap"), USER)
    name = settings.mailbox.name
    _deliver(imap_server, 1)
    first = app.mailboxes.poll(name)
    assert first is not None and first.filed == 1
    refreshes = oauth.grants("refresh_token")

    oauth.expire_access_tokens()
    _deliver(imap_server, 2)
    second = app.mailboxes.poll(name)

    assert second is not None and second.filed == 1
    assert oauth.grants("refresh_token") == refreshes + 1


def test_a_revoked_sign_in_stops_the_mailbox_with_a_permanent_error_naming_it(
    tmp_path: Path,
    oauth: OAuthServer,
    imap_server: DovecotServer,
    smtp_server: XOAuth2SmtpServer,
    make_app: Callable[[Settings], App],
) -> None:
    user = "other"  # its own Dovecot user, so the revocation touches no other test's tokens
    imap_server.reset(user)
    delegated = _oauth2(oauth, PUBLIC, token_cache_file=str(tmp_path / "tokens.bin"))
    settings = _settings(
        tmp_path,
        oauth,
        imap_server,
        smtp_server,
        user=user,
        auth="oauth2-delegated",
        oauth2=delegated,
    )
    app = make_app(settings)
    box = settings.mailbox
    _sign_in(oauth, provider_for(settings, "mailbox", box, "imap"), user)
    _deliver(imap_server, 1, user)
    assert app.mailboxes.poll(box.name) is not None

    oauth.revoke(user)  # an administrator ends every session of the account
    oauth.expire_access_tokens()
    _deliver(imap_server, 2, user)
    source = open_source(settings, box)
    try:
        with pytest.raises(CredentialsError) as caught:
            source.changes(None)
    finally:
        source.close()
    assert caught.value.permanent
    message = str(caught.value)
    assert "invalid_grant" in message and f"intake-bot auth login {box.name}" in message

    # Through the service: the poll fails, and the permanent fault holds the mailbox.
    assert app.mailboxes.poll(box.name) is None
    assert app.credentials.stopped(box.name) is not None
    [state] = app.mailboxes.status()
    assert state.last is not None and "invalid_grant" in state.last.detail


def _app_token(oauth: OAuthServer, tmp_path: Path) -> str:
    secret = tmp_path / "secret-for-a-token"
    secret.write_text(SECRET)
    settings = OAuth2Settings(
        oidc_authority=oauth.authority,
        client_id=APP,
        client_secret_file=secret,
        ca_file=oauth.ca_file,
    )
    return ClientCredentials("test", settings, ["x/.default"], 10).token()


def test_a_token_file_logs_in_and_a_token_the_server_refuses_is_named_as_refused(
    tmp_path: Path,
    oauth: OAuthServer,
    imap_server: DovecotServer,
    smtp_server: XOAuth2SmtpServer,
    make_app: Callable[[Settings], App],
) -> None:
    imap_server.reset()
    token_file = tmp_path / "access-token"  # kept fresh by another tool; read at each login
    token_file.write_text(_app_token(oauth, tmp_path))
    settings = _settings(
        tmp_path, oauth, imap_server, smtp_server, auth="", oauth2_token_file=token_file
    )
    box = settings.mailbox
    make_app(settings)
    _deliver(imap_server, 1)
    source = open_source(settings, box)
    try:
        assert len(source.changes(None).candidates) == 1

        token_file.write_text("a-token-the-server-never-issued")
        source.close()  # the next call logs in again
        with pytest.raises(CredentialsError) as caught:
            source.changes(None)
        assert not caught.value.permanent  # the tool that writes the file may fix it
        message = str(caught.value)
        assert message.startswith(f"{box.name}: the server refused the OAuth 2.0 token for {USER}")
        assert "a-token-the-server-never-issued" not in message

        token_file.write_text(_app_token(oauth, tmp_path))
        assert len(source.changes(None).candidates) == 1
    finally:
        source.close()


def test_smtp_names_a_refused_token_and_does_not_retry_the_same_one(
    smtp_server: XOAuth2SmtpServer,
) -> None:
    transport = SmtpTransport(
        host=smtp_server.host,
        port=smtp_server.port,
        security="none",
        username=USER,
        allow_plain_auth=True,
        tokens=StaticToken("a-token-the-server-never-issued", "outgoing"),
        timeout=10,
    )
    refused = smtp_server.refused
    raw = email(sender="dsfc.enquiries@example.nhs.uk")
    try:
        with pytest.raises(SendError) as caught:
            transport.send(
                sender="a@example.nhs.uk", recipients=["b@nhs.net"], raw=raw, message_id="<1@x>"
            )
    finally:
        transport.close()
    assert not caught.value.permanent  # it says nothing about the message: it is tried again
    assert f"refused the OAuth 2.0 token for {USER}" in str(caught.value)
    assert "535" in str(caught.value)
    assert smtp_server.refused == refused + 1
    assert smtp_server.messages() == []


def test_an_expired_secret_stops_reading_and_sending_once_and_a_new_secret_resumes_both(
    tmp_path: Path,
    oauth: OAuthServer,
    imap_server: DovecotServer,
    smtp_server: XOAuth2SmtpServer,
    make_app: Callable[[Settings], App],
    caplog: pytest.LogCaptureFixture,
) -> None:
    imap_server.reset()
    client = oauth.add_client("expiring-app", secret=SECRET, user=USER, secret_expired=True)
    secret = tmp_path / "expiring-secret"
    secret.write_text(SECRET)
    app_only = _oauth2(oauth, client.client_id, client_secret_file=str(secret))
    settings = _settings(tmp_path, oauth, imap_server, smtp_server, oauth2=app_only)
    settings.outgoing.oauth2 = settings.mailbox.oauth2
    settings.alert_addresses = ["dsfc.ops@example.nhs.uk"]
    app = make_app(settings)
    _deliver(imap_server, 1)

    def refused() -> int:
        return oauth.grants("client_credentials", "invalid_client")

    before = refused()
    with caplog.at_level("INFO"):
        for _ in range(3):  # three rounds of the worker: poll, then send
            Worker(app).run_once()
    assert refused() == before + 2  # one token request each for IMAP and SMTP, then none
    said = [r for r in caplog.records if "AADSTS7000222" in r.getMessage()]
    assert len(said) == 2 and all(r.levelname == "ERROR" for r in said)  # one line each
    with app.store.unit() as unit:
        alerts = [o for o in unit.outbox.for_() if o.kind == "credentials_alert"]
    assert len(alerts) == 2  # the mailbox's and outgoing's, waiting: sending is what stopped
    assert all(a.attempts == 0 for a in alerts)  # a sign-in fault is no email's failed attempt
    assert smtp_server.messages() == []
    [state] = app.mailboxes.status()
    assert state.last is not None and "client_secret_file" in state.last.detail  # what to do

    # The operator puts a new secret in the file (Entra's old one has expired): both resume
    # without a restart, the request is filed and everything waiting goes out.
    client.secret, client.secret_expired = "the new secret", False
    secret.write_text("the new secret")
    poll, send = Worker(app).run_once()
    assert poll is not None and poll.filed == 1
    assert send is not None and send.sent == 3  # the acknowledgement and both alerts
    recipients = sorted(m.rcpt_tos for m in smtp_server.messages())
    assert recipients == [
        ("dsfc.ops@example.nhs.uk",),
        ("dsfc.ops@example.nhs.uk",),
        ("requester1@nhs.net",),
    ]
    assert app.credentials.stopped(settings.mailbox.name) is None
