"""The mail settings: each `[[mailbox]]`, the `[outgoing]` server, and how either logs in
(a password, or OAuth 2.0: `[mailbox.oauth2]`, `[outgoing.oauth2]`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from msgspec import Meta, field

from intake_bot.config_types import ConfigError, Duration, Positive, Secret, Section

WATCHED_SUBJECT = "Data Services for Commissioners - Legitimate Relationships"
GRAPH_API = "https://graph.microsoft.com/v1.0"
# How a mailbox or the outgoing server logs in. `oauth2-token-file`: an access token another
# tool keeps fresh in `oauth2_token_file` (the bot only reads it).
AuthKind = Literal["password", "oauth2-client-credentials", "oauth2-delegated", "oauth2-token-file"]


class OAuth2Settings(Section):
    """An app registration: which authority issues tokens, to which client, for what.

    For Microsoft 365 / NHSmail, `authority` is https://login.microsoftonline.com/TENANT-ID; for
    any other OAuth 2.0 provider that speaks the same grants, `oidc_authority` is its issuer
    (its /.well-known/openid-configuration is read). Secrets only from the environment or files.
    """

    authority: str = ""
    oidc_authority: str = ""
    client_id: str = ""
    # Empty: what the mailbox's kind needs (IMAP, SMTP or Graph; see mail/oauth.py).
    scopes: list[str] = field(default_factory=list)
    client_secret: Secret | None = None  # from the environment only
    client_secret_file: Path | None = None
    # A certificate (PEM: the private key and the certificate), preferred over a secret.
    certificate_file: Path | None = None
    # When the secret runs out (Entra shows it); a certificate's own date is read from it.
    secret_expires: date | None = None
    # Where tokens are kept between runs, encrypted with the token key; default var/tokens/.
    token_cache_file: Path | None = None
    # A private CA for the token endpoint (tests, an on-premises provider); else the system's.
    ca_file: Path | None = None


class MailboxSettings(Section):
    """One watched mailbox. Several are `[[mailbox]]` entries; each is polled on its own."""

    name: str = "enquiries"  # stable identity: its lease, cursor and status are keyed on it
    default_office: str | None = None  # regional office for requests that name none
    url: str = "maildir:var/mail"
    subject: str = WATCHED_SUBJECT
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    poll_interval_seconds: Annotated[int, Meta(ge=5)] = 60
    fetch_batch: Annotated[int, Meta(ge=1, le=500)] = 25
    max_attempts: Positive = 3  # a message that crashes this often is quarantined
    lease_seconds: Positive = 120  # one poller per mailbox; a dead one's turn lapses
    timeout_seconds: float = 60.0
    password: Secret | None = None  # from the environment only
    password_file: Path | None = None
    oauth2_token_file: Path | None = None
    auth: AuthKind | None = None  # None: oauth2-token-file if that file is named, else password
    oauth2: OAuth2Settings | None = None
    graph_api_url: str = GRAPH_API  # for graph:// mailboxes
    ca_file: Path | None = None  # a private CA for the mail server's certificate
    allow_plain_auth: bool = False  # only for a test server on loopback (?tls=none)


class DatabaseSettings(Section):
    url: str = "sqlite:///var/intake-bot.db"
    password: Secret | None = None
    password_file: Path | None = None


class OutgoingSettings(Section):
    url: str = "file:var/outbox"
    from_address: str = "dsfc.enquiries@intake-bot.invalid"
    from_name: str = "Data Services for Commissioners"
    send_interval_seconds: Positive = 30
    max_attempts: Positive = 10
    backoff_seconds: Positive = 60  # doubled after each failure, capped at 6 hours
    # A sender claims a batch of the outbox for this long; a crashed sender's rows come back then.
    claim_seconds: Positive = 300
    # The most one email may take to send, every SMTP command of it together.
    timeout_seconds: Duration = 60.0
    replies_per_sender_per_hour: Positive = 10
    password: Secret | None = None
    password_file: Path | None = None
    oauth2_token_file: Path | None = None
    auth: AuthKind | None = None  # as for a mailbox
    oauth2: OAuth2Settings | None = None
    graph_api_url: str = GRAPH_API  # for a graph:// outgoing URL
    ca_file: Path | None = None
    allow_plain_auth: bool = False  # only for a loopback test server

    def __post_init__(self) -> None:
        # Another sender takes an email once its claim lapses: were a send allowed to outlast
        # the claim, that email would go out twice.
        if self.claim_seconds < 2 * self.timeout_seconds:
            raise ValueError(
                f"claim_seconds: {self.claim_seconds} must be at least twice "
                f"outgoing.timeout_seconds ({self.timeout_seconds:g}), the most one email may "
                "take to send: another sender takes an email whose claim has lapsed"
            )


def _secret(value: Secret | None, path: Path | None, name: str) -> str | None:
    if value is not None:
        return value.get_secret_value()
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not text"
        raise ConfigError(f"{name}: cannot read {path}: {why}; fix the path or the file") from exc
