"""`intake-bot auth login NAME`, run as an operator would (a subprocess), against the loopback
OAuth 2.0 server: the device code is shown, a person signs in, the tokens are stored encrypted
and a worker's provider then renews them by itself."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from intake_bot.config import load_settings
from intake_bot.mail.oauth import provider_for
from tests.oauth_server import OAuthServer, running_oauth_server

pytestmark = pytest.mark.integration
CLIENT = "intake-bot-public"
ACCOUNT = "dsfc.enquiries@nhs.example"
KEY = "a long random token key for the login test"


@pytest.fixture(scope="module")
def oauth() -> Iterator[OAuthServer]:
    with running_oauth_server() as server:
        server.add_client(CLIENT)
        yield server


def _config(tmp_path: Path, oauth: OAuthServer, auth: str = "oauth2-delegated") -> Path:
    config = tmp_path / "intake-bot.toml"
    config.write_text(
        f"""
[database]
url = "sqlite:///{tmp_path}/bot.db"
[[mailboxes]]
name = "enquiries"
url = "imaps://{ACCOUNT}@127.0.0.1:1/INBOX"
auth = "{auth}"
[mailboxes.oauth2]
oidc_authority = "{oauth.authority}"
client_id = "{CLIENT}"
ca_file = "{oauth.ca_file}"
token_cache_file = "{tmp_path}/tokens/enquiries.bin"
"""
    )
    return config


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_BOT_")}
    env["INTAKE_BOT_TOKEN_KEY"] = KEY
    return env


def _login(config: Path, cwd: Path, name: str = "enquiries") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "intake_bot", "--config", str(config), "auth", "login", name],
        cwd=cwd,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_login_shows_the_code_stores_tokens_encrypted_and_they_renew(
    oauth: OAuthServer, tmp_path: Path
) -> None:
    config = _config(tmp_path, oauth)
    process = _login(config, tmp_path)
    assert process.stderr is not None
    instructions = process.stderr.readline()  # what the operator is told to do
    assert "devicelogin" in instructions
    code = instructions.rsplit(" ", 1)[-1].strip().rstrip(".")
    oauth.sign_in(code, ACCOUNT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert f"enquiries: signed in as {ACCOUNT}" in out
    stored = (tmp_path / "tokens" / "enquiries.bin").read_bytes()
    assert ACCOUNT.encode() not in stored and b"refresh" not in stored

    # The worker's side: the provider renews from the stored refresh token.
    settings = load_settings(config, env={"INTAKE_BOT_TOKEN_KEY": KEY})
    provider = provider_for(settings, "mailbox", settings.mailbox, "imap")
    assert provider is not None
    oauth.expire_access_tokens()
    provider.invalidate()
    refreshes = oauth.grants("refresh_token")
    token = provider.token()
    assert oauth.active(token) is not None
    assert oauth.grants("refresh_token") == refreshes + 1


def test_login_of_a_mailbox_that_does_not_sign_in_on_a_persons_behalf(
    oauth: OAuthServer, tmp_path: Path
) -> None:
    config = _config(tmp_path, oauth, auth="oauth2-client-credentials")
    (tmp_path / "secret").write_text("s")
    config.write_text(config.read_text() + f'client_secret_file = "{tmp_path}/secret"\n')
    _, err = _login(config, tmp_path).communicate(timeout=60)
    assert "mailbox.auth" in err and "oauth2-client-credentials" in err
    assert "Traceback" not in err
    _out, err = _login(config, tmp_path, "nonesuch").communicate(timeout=60)
    assert "no mailbox named 'nonesuch'" in err and "enquiries" in err


def test_login_without_a_token_key_names_the_setting(oauth: OAuthServer, tmp_path: Path) -> None:
    config = _config(tmp_path, oauth)
    env = _env()
    del env["INTAKE_BOT_TOKEN_KEY"]
    result = subprocess.run(
        [sys.executable, "-m", "intake_bot", "--config", str(config), "auth", "login", "enquiries"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "INTAKE_BOT_TOKEN_KEY" in result.stderr and "Traceback" not in result.stderr
