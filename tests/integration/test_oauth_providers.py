"""The token providers against a real OAuth 2.0 server on loopback (tests/oauth_server.py): they
get, cache, renew and store tokens, and a refusal that retrying cannot cure is permanent."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TypedDict, Unpack

import pytest

from intake_bot.config import OAuth2Settings, load_settings
from intake_bot.mail.oauth import provider_for
from intake_bot.mail.oauth_providers import ClientCredentials, Delegated
from intake_bot.mail.token_store import EncryptedFile
from intake_bot.mail.tokens import CredentialsError
from tests.oauth_server import OAuthServer, make_certificate, running_oauth_server

APP = "intake-bot-app"
PUBLIC = "intake-bot-public"
SECRET = "app secret for the tests"
MAILBOX = "dsfc.enquiries@nhs.example"
KEY = "a token key for the tests, long and random enough"


@pytest.fixture(scope="module")
def oauth() -> Iterator[OAuthServer]:
    with running_oauth_server() as server:
        server.add_client(APP, secret=SECRET, user=MAILBOX)
        server.add_client(PUBLIC)
        yield server


class _Files(TypedDict, total=False):
    client_secret_file: Path
    certificate_file: Path


def _settings(server: OAuthServer, client_id: str, **extra: Unpack[_Files]) -> OAuth2Settings:
    return OAuth2Settings(
        oidc_authority=server.authority, client_id=client_id, ca_file=server.ca_file, **extra
    )


def _app_provider(server: OAuthServer, tmp_path: Path, secret: str = SECRET) -> ClientCredentials:
    secret_file = tmp_path / "secret"
    secret_file.write_text(secret)
    oauth = _settings(server, APP, client_secret_file=secret_file)
    return ClientCredentials("mailbox", oauth, ["https://outlook.office365.com/.default"], 10)


def _signed_in(server: OAuthServer, tmp_path: Path, user: str = MAILBOX) -> Delegated:
    store = EncryptedFile(tmp_path / "tokens.bin", KEY, fix="sign in again")
    scopes = ["https://outlook.office.com/IMAP.AccessAsUser.All"]
    provider = Delegated("mailbox", _settings(server, PUBLIC), scopes, 10, store)
    codes: list[str] = []

    def approve(message: str) -> None:
        code = message.rsplit(" ", 1)[-1].rstrip(".")
        codes.append(code)
        threading.Timer(0.2, server.sign_in, args=(code, user)).start()

    assert provider.login(approve) == user
    assert codes
    return provider


def test_client_credentials_token_is_cached_then_renewed_when_refused(
    oauth: OAuthServer, tmp_path: Path
) -> None:
    provider = _app_provider(oauth, tmp_path)
    before = oauth.grants("client_credentials")
    first = provider.token()
    assert oauth.active(first) is not None
    assert provider.token() == first  # from the cache: no second request
    assert oauth.grants("client_credentials") == before + 1
    provider.invalidate()  # the server refused it
    second = provider.token()
    assert second != first
    assert oauth.grants("client_credentials") == before + 2


def test_client_credentials_renewed_before_expiry(oauth: OAuthServer, tmp_path: Path) -> None:
    oauth.access_lifetime = 240  # msal renews tokens within 5 minutes of expiry
    try:
        provider = _app_provider(oauth, tmp_path)
        first = provider.token()
        assert provider.token() != first
    finally:
        oauth.access_lifetime = 3600


def test_expired_secret_is_permanent_and_says_what_to_do(
    oauth: OAuthServer, tmp_path: Path
) -> None:
    oauth.add_client("expired-app", secret=SECRET, secret_expired=True)
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET)
    oauth_settings = _settings(oauth, "expired-app", client_secret_file=secret_file)
    provider = ClientCredentials("mailbox[1]", oauth_settings, ["x/.default"], 10)
    with pytest.raises(CredentialsError) as caught:
        provider.token()
    assert caught.value.permanent
    message = str(caught.value)
    assert "AADSTS7000222" in message and "expired" in message
    assert "mailbox[1].oauth2.client_secret_file" in message


def test_wrong_secret_is_permanent(oauth: OAuthServer, tmp_path: Path) -> None:
    with pytest.raises(CredentialsError) as caught:
        _app_provider(oauth, tmp_path, secret="not the secret").token()
    assert caught.value.permanent and "invalid_client" in str(caught.value)


def test_certificate_credential(oauth: OAuthServer, tmp_path: Path) -> None:
    pem_file, cert = make_certificate(tmp_path)
    oauth.add_client("cert-app", certificate_pem=cert, user=MAILBOX)
    oauth_settings = _settings(oauth, "cert-app", certificate_file=pem_file)
    provider = ClientCredentials("mailbox", oauth_settings, ["x/.default"], 10)
    assert oauth.active(provider.token()) is not None
    assert provider.expires() is not None  # read from the certificate


def test_unreachable_authority_is_temporary(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET)
    oauth_settings = OAuth2Settings(
        oidc_authority="https://127.0.0.1:9/tenant", client_id=APP, client_secret_file=secret_file
    )
    provider = ClientCredentials("mailbox", oauth_settings, ["x/.default"], 3)
    with pytest.raises(CredentialsError) as caught:
        provider.token()
    assert not caught.value.permanent


def test_delegated_sign_in_refresh_and_rotation_are_stored_encrypted(
    oauth: OAuthServer, tmp_path: Path
) -> None:
    provider = _signed_in(oauth, tmp_path)
    stored = (tmp_path / "tokens.bin").read_bytes()
    assert b"refresh" not in stored and MAILBOX.encode() not in stored  # encrypted at rest
    assert (tmp_path / "tokens.bin").stat().st_mode & 0o077 == 0
    first = provider.token()  # from the sign-in's cache
    refreshes = oauth.grants("refresh_token")
    oauth.expire_access_tokens()
    provider.invalidate()
    second = provider.token()  # refresh grant; the refresh token rotates
    assert second != first and oauth.grants("refresh_token") == refreshes + 1
    # A new process reads the rotated refresh token from the file (the old one is spent).
    store = EncryptedFile(tmp_path / "tokens.bin", KEY, fix="sign in again")
    again = Delegated("mailbox", _settings(oauth, PUBLIC), ["x/IMAP.AccessAsUser.All"], 10, store)
    third = again.token()
    assert oauth.active(third) is not None
    assert oauth.grants("refresh_token", "invalid_grant") == 0


def test_revoked_sign_in_is_permanent(oauth: OAuthServer, tmp_path: Path) -> None:
    user = "revoked.mailbox@nhs.example"
    provider = _signed_in(oauth, tmp_path, user)
    oauth.revoke(user)
    provider.invalidate()
    with pytest.raises(CredentialsError) as caught:
        provider.token()
    assert caught.value.permanent
    assert "invalid_grant" in str(caught.value) and "auth login" in str(caught.value)


def test_nobody_signed_in_and_wrong_key(oauth: OAuthServer, tmp_path: Path) -> None:
    store = EncryptedFile(tmp_path / "tokens.bin", KEY, fix="sign in again")
    provider = Delegated("mailbox", _settings(oauth, PUBLIC), ["x/y"], 10, store)
    with pytest.raises(CredentialsError, match="nobody has signed in") as caught:
        provider.token()
    assert caught.value.permanent
    _signed_in(oauth, tmp_path)
    other = EncryptedFile(tmp_path / "tokens.bin", "another key", fix="sign in again")
    with pytest.raises(CredentialsError, match="do not open with this token key"):
        Delegated("mailbox", _settings(oauth, PUBLIC), ["x/y"], 10, other).token()


def test_provider_for_reads_settings_and_is_kept_per_process(
    oauth: OAuthServer, tmp_path: Path
) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET)
    config = tmp_path / "intake-bot.toml"
    config.write_text(
        f"""
[[mailboxes]]
name = "enquiries"
url = "imaps://{MAILBOX}@127.0.0.1/INBOX"
auth = "oauth2-client-credentials"
[mailboxes.oauth2]
oidc_authority = "{oauth.authority}"
client_id = "{APP}"
client_secret_file = "{secret_file}"
ca_file = "{oauth.ca_file}"
"""
    )
    settings = load_settings(config, env={})
    box = settings.mailbox
    provider = provider_for(settings, "mailbox", box, "imap")
    assert provider is not None
    assert provider is provider_for(settings, "mailbox", box, "imap")
    started = time.monotonic()
    assert oauth.active(provider.token()) is not None
    assert time.monotonic() - started < 5
