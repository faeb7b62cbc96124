"""How an IMAP connection logs in: with a password, or with an OAuth 2.0 access token (SASL
XOAUTH2) that a `TokenProvider` renews when the server refuses it."""

from __future__ import annotations

import imaplib
import logging
from typing import Any, Protocol

from intake_bot.mail.tokens import CredentialsError, StaticToken, TokenProvider

log = logging.getLogger(__name__)

# A token as it is (a test, a one-off), or a provider that renews it.
Credential = str | TokenProvider


class LoginClient(Protocol):
    """The part of an `imapclient.IMAPClient` that logging in uses."""

    def login(self, username: str, password: str) -> Any: ...
    def oauth2_login(self, user: str, access_token: str) -> Any: ...


def log_in(
    client: LoginClient,
    username: str,
    password: str | None,
    credential: Credential | None,
    name: str,
) -> None:
    """Log in with the token if there is one, else with the password.

    A token the server refuses is given back (`invalidate`) and, if the provider then hands out
    another, tried once more on the same connection: an access token can stop working before
    the expiry the cache knows (revoked, expired early), and that should cost no failed poll.
    Refused again: CredentialsError (temporary) saying so. The provider's own CredentialsError
    (e.g. a revoked sign-in, permanent) propagates as it is.
    """
    if credential is None:
        client.login(username, password or "")
        return
    tokens = StaticToken(credential, name) if isinstance(credential, str) else credential
    token = tokens.token()
    try:
        client.oauth2_login(username, token)
        return
    except imaplib.IMAP4.error as exc:
        if _connection_lost(exc):
            raise
        tokens.invalidate()
        refused = exc
    fresh = tokens.token()
    if fresh != token:
        log.info("%s: the server refused the OAuth 2.0 token; trying a new one", name)
        try:
            client.oauth2_login(username, fresh)
            return
        except imaplib.IMAP4.error as exc:
            if _connection_lost(exc):
                raise
            refused = exc
    raise CredentialsError(
        f"{name}: the server refused the OAuth 2.0 token for {username} ({_said(refused)}): "
        "check the mailbox's auth and oauth2 settings, and that the app registration may "
        "open this mailbox over IMAP"
    ) from refused


def _connection_lost(exc: imaplib.IMAP4.error) -> bool:
    """Not a refusal: the connection broke (imapclient re-raises it as a LoginError)."""
    return isinstance(exc, imaplib.IMAP4.abort) or isinstance(exc.__context__, imaplib.IMAP4.abort)


def _said(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
