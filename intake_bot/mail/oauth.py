"""Which token provider each mailbox and the outgoing server log in with, from the settings:
`auth` and `[mailbox.oauth2]` / `[outgoing.oauth2]` (see mail/oauth_providers.py for the grants).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from intake_bot.config import ConfigError, MailboxSettings, OutgoingSettings, Settings
from intake_bot.mail.token_store import EncryptedFile
from intake_bot.mail.tokens import TokenProvider
from intake_bot.ports_mail import Credential

Block = MailboxSettings | OutgoingSettings
Kind = Literal["imap", "smtp", "graph"]
# What each kind of connection asks for, app-only and on a person's behalf.
APP_SCOPES: dict[str, list[str]] = {
    "imap": ["https://outlook.office365.com/.default"],
    "smtp": ["https://outlook.office365.com/.default"],
    "graph": ["https://graph.microsoft.com/.default"],
}
USER_SCOPES: dict[str, list[str]] = {
    "imap": ["https://outlook.office.com/IMAP.AccessAsUser.All"],
    "smtp": ["https://outlook.office.com/SMTP.Send"],
    "graph": [
        "https://graph.microsoft.com/Mail.ReadWrite",
        "https://graph.microsoft.com/Mail.Send",
    ],
}


def store_fix(name: str) -> str:
    """What to do when the sign-in of `name` (a mailbox's name, or "outgoing") is gone."""
    return f"sign in again with `intake-bot auth login {name}`"


def auth_kind(block: Block) -> str:
    """How `block` logs in: as set, else a token file if one is named, else a password."""
    if block.auth:
        return block.auth
    return "oauth2-token-file" if block.oauth2_token_file else "password"


def provider_for(settings: Settings, label: str, block: Block, kind: Kind) -> TokenProvider | None:
    """The token provider for a mailbox or the outgoing server; None for password login.

    One per process for each (label, kind), so that its cached tokens outlive a poll.
    ConfigError names the setting that is missing.
    """
    method = auth_kind(block)
    if method == "password":
        return None
    return settings.shared(("token", label, kind), lambda: _build(settings, label, block, kind))


def graph_tokens(settings: Settings, label: str, block: Block) -> TokenProvider:
    """The provider of a graph:// mailbox or sender; ConfigError when it has none (Graph takes
    no password)."""
    provider = provider_for(settings, label, block, "graph")
    if provider is None:
        raise ConfigError(
            f"{label}.auth: graph:// signs in with OAuth 2.0: set it to "
            f"oauth2-client-credentials or oauth2-delegated (with {label}.oauth2), or "
            f"oauth2-token-file (with {label}.oauth2_token_file)"
        )
    return provider


def _build(settings: Settings, label: str, block: Block, kind: Kind) -> TokenProvider:
    # Imported here: msal and httpx take a tenth of a second that commands without OAuth skip.
    from intake_bot.mail.oauth_providers import ClientCredentials, Delegated, FileToken

    method = auth_kind(block)
    if method == "oauth2-token-file":
        if block.oauth2_token_file is None:
            raise ConfigError(f"{label}.oauth2_token_file: name the file that holds the token")
        return FileToken(label, block.oauth2_token_file)
    oauth = block.oauth2
    if oauth is None or not oauth.client_id:
        raise ConfigError(f"{label}.oauth2.client_id: {method} needs the app registration's id")
    if not (oauth.authority or oauth.oidc_authority):
        raise ConfigError(
            f"{label}.oauth2.authority: set it to https://login.microsoftonline.com/TENANT-ID "
            "(or oidc_authority to another provider's issuer)"
        )
    timeout = float(block.timeout_seconds)
    if method == "oauth2-client-credentials":
        return ClientCredentials(label, oauth, oauth.scopes or APP_SCOPES[kind], timeout)
    key = settings.token_key_secret()
    if not key:
        raise ConfigError(
            "token_key_file: oauth2-delegated keeps a refresh token on disk, encrypted: set "
            "INTAKE_BOT_TOKEN_KEY or token_key_file (a long random string)"
        )
    path = oauth.token_cache_file or Path("var/tokens") / f"{_file_name(label, kind)}.bin"
    fix = store_fix(_login_name(settings, label))
    store = EncryptedFile(path, key, fix=fix)
    return Delegated(label, oauth, oauth.scopes or USER_SCOPES[kind], timeout, store, fix=fix)


def _login_name(settings: Settings, label: str) -> str:
    """What `intake-bot auth login` calls it: the mailbox's name, or `outgoing`."""
    for box in settings.mailboxes:
        if settings.mailbox_label(box) == label:
            return box.name
    return label


def _file_name(label: str, kind: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in f"{label}-{kind}").strip("-")


def known_credentials(settings: Settings) -> list[Credential]:
    """Every mailbox's and the outgoing server's OAuth 2.0 credentials; password logins and
    settings that do not build (which `config --check` reports) are left out."""
    found: list[Credential] = []
    blocks: list[tuple[str, str, Block]] = [
        (box.name, settings.mailbox_label(box), box) for box in settings.mailboxes
    ]
    blocks.append(("outgoing", "outgoing", settings.outgoing))
    for name, label, block in blocks:
        try:
            provider = provider_for(settings, label, block, connection_kind(block.url))
        except ConfigError:
            continue
        if provider is None:
            continue
        expires = getattr(provider, "expires", lambda: None)()
        found.append(Credential(name, label, provider.fingerprint, expires))
    return found


def connection_kind(url: str) -> Kind:
    """What a mailbox or outgoing URL connects with, for the scopes its token needs."""
    scheme = url.split(":", 1)[0].lower()
    if scheme == "graph":
        return "graph"
    return "smtp" if scheme.startswith("smtp") else "imap"


def sign_in(settings: Settings, name: str, show: Callable[[str], None]) -> str:
    """Device-code sign-in for the mailbox called `name` (or "outgoing"); the account that
    signed in. ConfigError when that one does not sign in on a person's behalf."""
    blocks: dict[str, tuple[str, Block]] = {
        box.name.casefold(): (settings.mailbox_label(box), box) for box in settings.mailboxes
    }
    blocks.setdefault("outgoing", ("outgoing", settings.outgoing))
    if name.casefold() not in blocks:
        known = ", ".join(sorted({*(b.name for b in settings.mailboxes), "outgoing"}))
        raise ConfigError(f"no mailbox named {name!r}: one of {known}")
    label, block = blocks[name.casefold()]
    from intake_bot.mail.oauth_providers import Delegated

    provider = provider_for(settings, label, block, connection_kind(block.url))
    if not isinstance(provider, Delegated):
        raise ConfigError(
            f"{label}.auth: `auth login` signs in for oauth2-delegated, but {name} uses "
            f"{auth_kind(block)}"
        )
    return provider.login(show)
