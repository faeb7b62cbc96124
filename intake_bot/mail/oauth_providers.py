"""OAuth 2.0 token providers (msal): app-only (client credentials) and delegated (a person signs
in once with a device code, then refresh tokens), for IMAP, SMTP and Microsoft Graph.

msal talks to Microsoft Entra (`authority`, e.g. https://login.microsoftonline.com/TENANT) or to
any OpenID Connect provider that speaks the same grants (`oidc_authority`). Tokens are cached in
memory (and, for a sign-in, in an encrypted file) and renewed by msal five minutes before they
expire. A refusal that retrying cannot cure (a revoked sign-in, an expired or wrong secret) is a
permanent CredentialsError saying what to do; a network fault is a temporary one.
"""

from __future__ import annotations

import hashlib
import logging
import ssl
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import msal
from cryptography import x509

from intake_bot.config import ConfigError, OAuth2Settings
from intake_bot.config_mail import _secret
from intake_bot.mail.token_store import EncryptedFile
from intake_bot.mail.tokens import CredentialsError

log = logging.getLogger(__name__)

# Errors that a retry cannot cure: the operator (or the mailbox's owner) must act.
PERMANENT = {"invalid_grant", "invalid_client", "unauthorized_client", "interaction_required"}


class _MsalProvider:
    """What both grants share: one msal application built on first use, one lock, one way of
    turning msal's answers into a token or a CredentialsError."""

    def __init__(self, name: str, oauth: OAuth2Settings, scopes: list[str], timeout: float) -> None:
        self.name = name
        self._oauth = oauth
        self._scopes = scopes
        self._timeout = timeout
        self._lock = threading.Lock()
        self._stale = False  # the server refused our token: do not hand it out again
        self._app: Any = None

    def invalidate(self) -> None:
        self._stale = True

    def expires(self) -> date | None:
        """When the credential itself (a secret, a certificate) stops working, if known."""
        return None

    def _where(self) -> dict[str, Any]:
        # httpx, not msal's default requests session: requests lets REQUESTS_CA_BUNDLE
        # override an explicit CA file, and httpx is already how Graph is spoken.
        verify: ssl.SSLContext | bool = True
        if self._oauth.ca_file:
            verify = ssl.create_default_context(cafile=str(self._oauth.ca_file))
        client = httpx.Client(verify=verify, timeout=self._timeout, trust_env=True)
        where: dict[str, Any] = {"http_client": _HttpClient(client)}
        if self._oauth.oidc_authority:
            where["oidc_authority"] = self._oauth.oidc_authority.rstrip("/")
        else:
            where["authority"] = self._oauth.authority
        return where

    def _build(self, make: Callable[[], Any]) -> Any:
        if self._app is None:
            try:
                self._app = make()
            except (ValueError, httpx.HTTPError) as exc:
                raise CredentialsError(
                    f"{self.name}: the token authority could not be read: {_first_line(exc)}",
                    fix=f"check {self.name}.oauth2.authority and that its host can be reached",
                ) from exc
        return self._app

    def _token_from(self, result: dict[str, Any] | None, fix: str) -> str:
        if result and "access_token" in result:
            self._stale = False
            return str(result["access_token"])
        error = (result or {}).get("error", "no_token")
        described = _first_line((result or {}).get("error_description") or error)
        permanent = error in PERMANENT
        log.debug("%s: token request refused: %s", self.name, error)
        raise CredentialsError(
            f"{self.name}: the token was refused ({error}: {described})",
            permanent=permanent,
            fix=fix if permanent else "",
        )

    def _call(self, request: Callable[[], Any]) -> Any:
        try:
            return request()
        except httpx.HTTPError as exc:  # the network, not the credentials
            raise CredentialsError(
                f"{self.name}: the token endpoint could not be reached: {type(exc).__name__}"
            ) from exc


class _HttpClient:
    """msal's HTTP client interface over httpx. msal hands over a certificate's signed
    assertion as bytes, which requests form-encodes as text and httpx as "b'...'"."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None,
             **kwargs: Any) -> httpx.Response:  # fmt: skip
        if isinstance(data, dict):
            data = {k: v.decode() if isinstance(v, bytes) else v for k, v in data.items()}
        return self._client.post(url, params=params, data=data, headers=headers, **kwargs)

    def get(self, url: str, params: Any = None, headers: Any = None,
            **kwargs: Any) -> httpx.Response:  # fmt: skip
        return self._client.get(url, params=params, headers=headers, **kwargs)

    def close(self) -> None:
        self._client.close()


class ClientCredentials(_MsalProvider):
    """App-only tokens (the client-credentials grant) with a certificate or a secret."""

    def __init__(self, name: str, oauth: OAuth2Settings, scopes: list[str], timeout: float) -> None:
        super().__init__(name, oauth, scopes, timeout)
        self._credential, self._fingerprint, self._expires = client_credential(name, oauth)
        self._fix = (
            f"make a new client secret or certificate in the app registration and put it in "
            f"the file {name}.oauth2.client_secret_file (or certificate_file) names"
        )

    def token(self) -> str:
        with self._lock:
            self._reread()
            app = self._build(self._make)
            if self._stale:
                app.remove_tokens_for_client()
            result = self._call(lambda: app.acquire_token_for_client(self._scopes))
            return self._token_from(result, self._fix)

    def fingerprint(self) -> str:
        with self._lock:
            self._reread()
            return self._fingerprint

    def expires(self) -> date | None:
        return self._expires

    def _reread(self) -> None:
        """A new secret or certificate in the file is taken up without a restart: the operator
        replaces the file, and the next token request (or a stopped mailbox's check) uses it."""
        try:
            credential, fingerprint, expires = client_credential(self.name, self._oauth)
        except ConfigError:  # the file is being replaced, or gone: keep what worked
            return
        if fingerprint != self._fingerprint:
            self._credential, self._fingerprint, self._expires = credential, fingerprint, expires
            self._app = None  # a new msal application, with no token of the old credential
            log.info("%s: new client credentials read", self.name)

    def _make(self) -> Any:
        return msal.ConfidentialClientApplication(
            self._oauth.client_id, client_credential=self._credential, **self._where()
        )


class Delegated(_MsalProvider):
    """Tokens on behalf of the account that signed in with `intake-bot auth login`."""

    def __init__(
        self,
        name: str,
        oauth: OAuth2Settings,
        scopes: list[str],
        timeout: float,
        store: EncryptedFile,
        *,
        fix: str = "sign in again with `intake-bot auth login`",
        username: str | None = None,
    ) -> None:
        super().__init__(name, oauth, scopes, timeout)
        self._store = store
        self._username = username
        self._cache = msal.SerializableTokenCache()
        self._fix = fix

    def token(self) -> str:
        with self._lock, self._store.locked():
            app = self._build(self._make)
            self._cache.deserialize(self._store.read() or "{}")
            accounts = app.get_accounts(username=self._username) or app.get_accounts()
            if not accounts:
                raise CredentialsError(
                    f"{self.name}: nobody has signed in to this mailbox yet",
                    permanent=True,
                    fix=self._fix,
                )
            result = self._call(
                lambda: app.acquire_token_silent_with_error(
                    self._scopes, account=accounts[0], force_refresh=self._stale
                )
            )
            self._keep()  # a rotated refresh token is stored before anything else can fail
            return self._token_from(result, self._fix)

    def login(self, show: Callable[[str], None]) -> str:
        """Device-code sign-in: `show` the instructions, wait for the person, keep the tokens.
        Returns the account that signed in."""
        with self._lock:
            app = self._build(self._make)
            flow = self._call(lambda: app.initiate_device_flow(scopes=self._scopes))
            if "user_code" not in flow:
                self._token_from(flow, "check the app registration allows public client flows")
            show(str(flow["message"]))
            result = self._call(lambda: app.acquire_token_by_device_flow(flow))
            with self._store.locked():
                self._token_from(result, "try again: the sign-in was refused or took too long")
                self._keep(force=True)
            self._stale = False
            claims = result.get("id_token_claims") or {}
            return str(claims.get("preferred_username") or claims.get("sub") or "?")

    def fingerprint(self) -> str:
        return self._store.fingerprint()

    def _keep(self, *, force: bool = False) -> None:
        if force or self._cache.has_state_changed:
            self._store.write(self._cache.serialize())
            self._cache.has_state_changed = False

    def _make(self) -> Any:
        return msal.PublicClientApplication(
            self._oauth.client_id, token_cache=self._cache, **self._where()
        )


class FileToken:
    """An access token that another tool keeps fresh in a file: read again for each connection."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self._path = path

    def token(self) -> str:
        try:
            token = _secret(None, self._path, f"{self.name}.oauth2_token_file")
        except ConfigError as exc:
            raise CredentialsError(str(exc)) from exc
        if not token:
            raise CredentialsError(f"{self.name}.oauth2_token_file: {self._path} is empty")
        return token

    def invalidate(self) -> None:
        """The tool that writes the file renews it; nothing to do here."""

    def fingerprint(self) -> str:
        try:
            return hashlib.sha256(self._path.read_bytes()).hexdigest()
        except OSError:
            return "none"


def client_credential(
    name: str, oauth: OAuth2Settings
) -> tuple[str | dict[str, str], str, date | None]:
    """msal's client credential, its fingerprint, and when it expires (if known)."""
    if oauth.certificate_file is not None:
        try:
            pem = oauth.certificate_file.read_bytes()
            cert = x509.load_pem_x509_certificate(pem)
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"{name}.oauth2.certificate_file: cannot read a PEM certificate and key from "
                f"{oauth.certificate_file}: {_first_line(exc)}"
            ) from exc
        thumbprint = cert.fingerprint(_sha1()).hex()
        credential = {"private_key": pem.decode(), "thumbprint": thumbprint}
        return credential, thumbprint, cert.not_valid_after_utc.date()
    secret = _secret(
        oauth.client_secret, oauth.client_secret_file, f"{name}.oauth2.client_secret_file"
    )
    if not secret:
        raise ConfigError(
            f"{name}.oauth2.client_secret_file: client credentials need a secret or a "
            "certificate_file (from a file or the environment, never the settings file)"
        )
    return secret, hashlib.sha256(secret.encode()).hexdigest(), oauth.secret_expires


def _sha1() -> Any:
    from cryptography.hazmat.primitives import hashes

    # The certificate thumbprint (x5t) that Entra matches on: an identifier, not a signature.
    return hashes.SHA1()  # noqa: S303


def _first_line(value: object) -> str:
    text = str(value).strip()
    return text.splitlines()[0] if text else type(value).__name__
