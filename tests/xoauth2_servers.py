"""Mail servers on loopback that take OAuth 2.0 access tokens (SASL XOAUTH2), each checking them
against the test authorisation server (tests/oauth_server.py) as Exchange Online checks Entra's:

- `oauth_dovecot`: the private Dovecot of tests/servers.py with a second passdb (driver oauth2)
  that asks the token endpoint's RFC 7662 introspection whether a token is active and for whom;
  it offers XOAUTH2 and OAUTHBEARER next to the password mechanisms.
- `XOAuth2SmtpServer`: the recording SMTP server of tests/servers.py offering AUTH XOAUTH2 only.
"""

from __future__ import annotations

import base64
import collections
import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword

from tests.oauth_server import OAuthServer
from tests.servers import DovecotServer, SmtpServer, _Recorder, private_dovecot

# RFC 4954: an AUTH command with its initial response may be 12,288 octets (an access token is
# a JWT of a kilobyte or more); aiosmtpd allows 512 unless told.
AUTH_LINE = 12288


def oauth_dovecot_config(oauth: OAuthServer, folder: Path) -> str:
    """Settings to append to the private Dovecot's: OAuth 2.0 logins checked by introspection.

    Password logins keep working (the passwd-file passdb comes first; a token is no password
    there, so Dovecot goes on to the oauth2 passdb, which is asked for the token mechanisms only).
    Dovecot keeps no auth cache here: a revoked token is refused at its next use.
    """
    args = folder / "dovecot-oauth2.conf.ext"
    args.write_text(
        f"introspection_url = {oauth.introspection_url}\n"
        "introspection_mode = post\n"
        "username_attribute = username\n"
        "active_attribute = active\n"
        "active_value = true\n"
    )
    args.chmod(0o644)
    return f"""
auth_mechanisms = plain login xoauth2 oauthbearer
# Why a login was refused, in the log (never the token).
auth_verbose = yes
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {args}
}}
"""


@contextmanager
def oauth_dovecot(oauth: OAuthServer) -> Iterator[DovecotServer]:
    """A private Dovecot (users `intake` and `other`) that also takes `oauth`'s tokens."""
    root = Path(tempfile.mkdtemp(prefix="intake-bot-dovecot-oauth-"))
    try:
        extra = oauth_dovecot_config(oauth, root)
        with private_dovecot(root, extra_config=extra) as server:
            yield server
    finally:
        shutil.rmtree(root, ignore_errors=True)


class _TokenChecker(_Recorder):
    """The recording handler, with AUTH XOAUTH2 answered from the authorisation server."""

    def __init__(self, oauth: OAuthServer) -> None:
        super().__init__()
        self.oauth = oauth
        self.accepted = 0
        self.refused = 0

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        answer: Any = (
            base64.b64decode(args[1]) if len(args) > 1 else await server.challenge_auth("")
        )
        if answer is MISSING:
            return AuthResult(success=False, handled=True)
        fields = dict(f.split("=", 1) for f in answer.decode().split("\x01") if "=" in f)
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        with self.oauth.lock:
            grant = self.oauth.active(token)
        if grant is not None and grant.user == user:
            with self.lock:
                self.accepted += 1
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))
        with self.lock:
            self.refused += 1
        # As Gmail does: the error as a JSON challenge, an empty answer from the client, then 535.
        error = {
            "status": "401",
            "schemes": "bearer",
            "scope": "https://outlook.office.com/.default",
        }
        await server.challenge_auth(json.dumps(error))
        return AuthResult(success=False, handled=False, message="535 5.7.8 Token not accepted")


class _LongAuthLines(SMTP):
    line_length_limit = AUTH_LINE  # read by SMTP.__init__

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.command_size_limits = collections.defaultdict(lambda: AUTH_LINE)


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _LongAuthLines(self.handler, **self.SMTP_kwargs)


class XOAuth2SmtpServer(SmtpServer):
    """An `SmtpServer` that offers AUTH XOAUTH2 only (no passwords; also without TLS: loopback
    only) and takes a token `oauth` issued for the user named with it. `accepted` and `refused`
    count the logins."""

    def __init__(self, oauth: OAuthServer) -> None:
        super().__init__()
        self._checker = _TokenChecker(oauth)
        self._recorder = self._checker

    @property
    def accepted(self) -> int:
        return self._checker.accepted

    @property
    def refused(self) -> int:
        return self._checker.refused

    def start(self) -> None:
        if self._controller is not None:
            return
        controller = _Controller(
            self._recorder,
            hostname=self.host,
            port=self.port,
            server_hostname="localhost",  # not getfqdn(), which may wait on DNS
            auth_require_tls=False,
            auth_exclude_mechanism=["LOGIN", "PLAIN"],
        )
        controller.start()
        self._controller = controller


@contextmanager
def running_xoauth2_smtp_server(oauth: OAuthServer) -> Iterator[XOAuth2SmtpServer]:
    server = XOAuth2SmtpServer(oauth)
    server.start()
    try:
        yield server
    finally:
        server.stop()
