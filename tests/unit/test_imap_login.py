"""How an IMAP connection logs in (mail/imap_login.py), on a fake connection: a refused token is
given back and replaced once; a broken connection is not a refusal; the provider's own permanent
error goes through unchanged. The real servers' side is tests/integration/test_xoauth2.py."""

from __future__ import annotations

import imaplib
from typing import Any

import pytest

from intake_bot.mail.imap_login import log_in
from intake_bot.mail.tokens import CredentialsError


class FakeConnection:
    """Takes the tokens in `good`; a token not there is refused as Dovecot refuses it."""

    def __init__(self, *good: str, lost: bool = False) -> None:
        self.good = set(good)
        self.lost = lost
        self.tried: list[str] = []

    def login(self, username: str, password: str) -> Any:
        self.tried.append(f"password:{password}")

    def oauth2_login(self, user: str, access_token: str) -> Any:
        self.tried.append(access_token)
        if self.lost:
            try:
                raise imaplib.IMAP4.abort("socket error: EOF")
            except imaplib.IMAP4.abort as exc:  # as imapclient re-raises it
                raise imaplib.IMAP4.error(str(exc)) from None
        if access_token not in self.good:
            raise imaplib.IMAP4.error("[AUTHENTICATIONFAILED] Authentication failed.")


class FakeTokens:
    """Hands out "token-1", then "token-2" after `invalidate`; with `renews=False`, "token-1"
    for ever."""

    name = "mailbox"

    def __init__(self, *, renews: bool = True, error: CredentialsError | None = None) -> None:
        self.issued = 1
        self.renews = renews
        self.error = error
        self.invalidated = 0

    def token(self) -> str:
        if self.error is not None and self.invalidated:
            raise self.error
        return f"token-{self.issued}"

    def invalidate(self) -> None:
        self.invalidated += 1
        self.issued += 1 if self.renews else 0

    def fingerprint(self) -> str:
        return "fake"


def test_a_password_logs_in_when_there_is_no_token() -> None:
    connection = FakeConnection()
    log_in(connection, "intake", "secret", None, "enquiries")
    assert connection.tried == ["password:secret"]


def test_a_refused_token_is_given_back_and_a_new_one_logs_in() -> None:
    connection, tokens = FakeConnection("token-2"), FakeTokens()
    log_in(connection, "intake", None, tokens, "enquiries")
    assert connection.tried == ["token-1", "token-2"] and tokens.invalidated == 1


def test_refused_again_is_a_temporary_credentials_error_naming_the_mailbox() -> None:
    connection, tokens = FakeConnection(), FakeTokens()
    with pytest.raises(CredentialsError) as caught:
        log_in(connection, "intake", None, tokens, "enquiries")
    assert not caught.value.permanent
    assert str(caught.value).startswith(
        "enquiries: the server refused the OAuth 2.0 token for intake ([AUTHENTICATIONFAILED]"
    )
    assert "token-" not in str(caught.value)  # no token in a message that is logged
    assert connection.tried == ["token-1", "token-2"]


def test_the_same_token_is_not_tried_twice() -> None:
    connection, tokens = FakeConnection(), FakeTokens(renews=False)
    with pytest.raises(CredentialsError, match=r"refused the OAuth 2\.0 token"):
        log_in(connection, "intake", None, tokens, "enquiries")
    assert connection.tried == ["token-1"] and tokens.invalidated == 1


def test_a_static_token_refused_is_said_once() -> None:
    connection = FakeConnection()
    with pytest.raises(CredentialsError, match="enquiries: the server refused"):
        log_in(connection, "intake", None, "static-token", "enquiries")
    assert connection.tried == ["static-token"]


def test_a_broken_connection_is_not_a_refusal() -> None:
    connection, tokens = FakeConnection(lost=True), FakeTokens()
    with pytest.raises(imaplib.IMAP4.error) as caught:
        log_in(connection, "intake", None, tokens, "enquiries")
    assert not isinstance(caught.value, CredentialsError)
    assert tokens.invalidated == 0  # the token was never judged


def test_the_providers_permanent_error_goes_through_unchanged() -> None:
    revoked = CredentialsError("mailbox: the token was refused (invalid_grant)", permanent=True)
    connection, tokens = FakeConnection(), FakeTokens(error=revoked)
    with pytest.raises(CredentialsError) as caught:
        log_in(connection, "intake", None, tokens, "enquiries")
    assert caught.value is revoked and caught.value.permanent
