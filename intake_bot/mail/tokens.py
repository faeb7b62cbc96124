"""Credentials for a mailbox or the outgoing server: what a connection logs in with.

A `TokenProvider` hands out an OAuth 2.0 access token, from its cache while it is fresh and
renewed before it expires. Adapters (IMAP, SMTP, Graph) call `token()` for every new connection
and `invalidate()` when the server refused the one they had, so that the next call renews it.

`CredentialsError` with `permanent=True` (a revoked or expired refresh token, an expired or
wrong client secret, nobody signed in) means retrying will not help until the operator acts:
the mailbox stops, the fault is logged once and staff are alerted once (services/credentials).
"""

from __future__ import annotations

from intake_bot.ports_mail import CredentialsError, TokenProvider

__all__ = ["CredentialsError", "StaticToken", "TokenProvider"]


class StaticToken:
    """A token that never changes (a test, or a token file another tool keeps fresh)."""

    def __init__(self, token: str, name: str = "mailbox") -> None:
        self._token = token
        self.name = name

    def token(self) -> str:
        return self._token

    def invalidate(self) -> None:
        """Nothing to renew: a refused static token is refused again."""

    def fingerprint(self) -> str:
        return "static"
