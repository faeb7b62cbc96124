"""An OAuth 2.0 authorisation server on loopback, for the token providers' tests and for Dovecot's
and the SMTP server's XOAUTH2: OIDC discovery, a token endpoint speaking the client-credentials
(secret or certificate), refresh-token and device-code grants, and RFC 7662 introspection.

Shaped like Microsoft Entra where it matters to a client: the discovery document lives under
the tenant, errors carry AADSTS descriptions, refresh tokens rotate (the old one stops working
once the new one is issued), and an access token is a JWT with `scp` or `roles`. The token
endpoint is HTTPS (msal refuses anything else) with a self-signed certificate; introspection is
also served over plain HTTP on a second port, for Dovecot.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.servers import _self_signed_certificate, free_port

TENANT = "test-tenant"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass
class Client:
    client_id: str
    secret: str | None = None
    secret_expired: bool = False
    certificate_pem: bytes | None = None  # a registered certificate (its public key)
    user: str = ""  # whom an app-only token acts for (introspection's username)


@dataclass
class Grant:
    client_id: str
    user: str
    scopes: list[str]
    expires: float = 0.0


@dataclass
class Device:
    client_id: str
    scopes: list[str]
    user_code: str
    user: str | None = None  # set when someone signs in


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _jwt(claims: dict[str, Any]) -> str:
    """A JWT-shaped token. Unsigned: clients only read its claims, as a real one's are read."""
    header = _b64(json.dumps({"typ": "JWT", "alg": "none"}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}.{_b64(secrets.token_bytes(16))}"


def _error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


@dataclass
class OAuthServer:
    base: str = ""  # https://127.0.0.1:PORT
    introspection_base: str = ""  # http://127.0.0.1:PORT2
    ca_file: Path = Path()
    access_lifetime: int = 3600
    clients: dict[str, Client] = field(default_factory=dict)
    access: dict[str, Grant] = field(default_factory=dict)
    refresh: dict[str, Grant] = field(default_factory=dict)
    devices: dict[str, Device] = field(default_factory=dict)
    # Every token request: (grant_type, client_id, "ok" or the error).
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- what a test sets up and looks at ------------------------------------------------------

    @property
    def authority(self) -> str:
        """The issuer, as an oidc_authority setting names it."""
        return f"{self.base}/{TENANT}"

    @property
    def introspection_url(self) -> str:
        return f"{self.introspection_base}/introspect"

    def add_client(self, client_id: str, **options: Any) -> Client:
        client = Client(client_id, **options)
        self.clients[client_id] = client
        return client

    def sign_in(self, user_code: str, user: str) -> None:
        """Someone opens the verification page and signs in with this code."""
        for device in self.devices.values():
            if device.user_code == user_code:
                device.user = user
                return
        raise KeyError(user_code)

    def revoke(self, user: str) -> None:
        """An administrator revokes every session of `user` (refresh and access tokens)."""
        with self.lock:
            for store in (self.refresh, self.access):
                for token in [t for t, g in store.items() if g.user == user]:
                    del store[token]

    def expire_access_tokens(self) -> None:
        with self.lock:
            for grant in self.access.values():
                grant.expires = time.time() - 1

    def grants(self, grant_type: str, outcome: str = "ok") -> int:
        return sum(1 for g, _, o in self.requests if g == grant_type and o == outcome)

    def active(self, token: str) -> Grant | None:
        grant = self.access.get(token)
        return grant if grant is not None and grant.expires > time.time() else None

    # -- the endpoints --------------------------------------------------------------------------

    def app(self) -> Starlette:
        prefix = f"/{TENANT}"
        return Starlette(
            routes=[
                Route(f"{prefix}/.well-known/openid-configuration", self.discovery),
                Route(f"{prefix}/oauth2/v2.0/token", self.token, methods=["POST"]),
                Route(f"{prefix}/oauth2/v2.0/devicecode", self.devicecode, methods=["POST"]),
                Route("/introspect", self.introspect, methods=["POST"]),
            ]
        )

    async def discovery(self, request: Request) -> Response:
        v2 = f"{self.authority}/oauth2/v2.0"
        return JSONResponse(
            {
                "issuer": self.authority,
                "authorization_endpoint": f"{v2}/authorize",
                "token_endpoint": f"{v2}/token",
                "device_authorization_endpoint": f"{v2}/devicecode",
                "introspection_endpoint": self.introspection_url,
            }
        )

    async def devicecode(self, request: Request) -> Response:
        form = await request.form()
        code, user_code = secrets.token_urlsafe(24), secrets.token_hex(4).upper()
        scopes = str(form.get("scope", "")).split()
        self.devices[code] = Device(str(form.get("client_id")), scopes, user_code)
        return JSONResponse(
            {
                "device_code": code,
                "user_code": user_code,
                "verification_uri": f"{self.base}/devicelogin",
                "expires_in": 900,
                "interval": 1,
                "message": f"To sign in, open {self.base}/devicelogin and enter {user_code}.",
            }
        )

    async def token(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        grant_type, client_id = form.get("grant_type", ""), form.get("client_id", "")
        with self.lock:
            response = self._token(grant_type, client_id, form)
        body = json.loads(bytes(response.body))
        self.requests.append((grant_type, client_id, body.get("error", "ok")))
        return response

    def _token(self, grant_type: str, client_id: str, form: dict[str, str]) -> JSONResponse:
        client = self.clients.get(client_id)
        if client is None:
            return _error("unauthorized_client", f"AADSTS700016: Application {client_id} not found")
        fault = self._client_fault(client, form)
        if fault is not None:
            return fault
        scopes = [s for s in form.get("scope", "").split() if s not in _RESERVED]
        if grant_type == "client_credentials":
            return self._issue(Grant(client_id, client.user, scopes), refresh=False)
        if grant_type == "refresh_token":
            grant = self.refresh.pop(form.get("refresh_token", ""), None)
            if grant is None or grant.client_id != client_id:
                return _error(
                    "invalid_grant",
                    "AADSTS50173: The provided grant has expired due to it being revoked.",
                )
            return self._issue(Grant(client_id, grant.user, scopes or grant.scopes), refresh=True)
        if grant_type == DEVICE_GRANT:
            device = self.devices.get(form.get("device_code", ""))
            if device is None:
                return _error("expired_token", "AADSTS70019: the device code has expired")
            if device.user is None:
                return _error("authorization_pending", "AADSTS70016: waiting for the user")
            del self.devices[form["device_code"]]
            return self._issue(Grant(client_id, device.user, device.scopes), refresh=True)
        return _error("unsupported_grant_type", f"{grant_type} is not supported here")

    def _client_fault(self, client: Client, form: dict[str, str]) -> JSONResponse | None:
        """Client authentication: a secret, a certificate's signed assertion, or none (public)."""
        if "client_assertion" in form:
            if client.certificate_pem is None or not self._assertion_valid(client, form):
                return _error("invalid_client", "AADSTS700027: the client assertion failed")
            return None
        if client.secret is None:
            return None  # a public client (device-code sign-in)
        if form.get("client_secret") != client.secret:
            return _error("invalid_client", "AADSTS7000215: Invalid client secret provided.", 401)
        if client.secret_expired:
            return _error(
                "invalid_client",
                f"AADSTS7000222: The provided client secret keys for app '{client.client_id}' "
                "are expired.",
                401,
            )
        return None

    def _assertion_valid(self, client: Client, form: dict[str, str]) -> bool:
        """An RS256 client assertion signed with the registered certificate's key."""
        assert client.certificate_pem is not None
        public = x509.load_pem_x509_certificate(client.certificate_pem).public_key()
        assert isinstance(public, rsa.RSAPublicKey)
        try:
            head, body, signature = form["client_assertion"].split(".")
            public.verify(
                _unb64(signature), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
            claims = json.loads(_unb64(body))
        except (ValueError, InvalidSignature):
            return False
        return bool(
            claims.get("iss") == claims.get("sub") == client.client_id
            and claims.get("exp", 0) > time.time()
        )

    def _issue(self, grant: Grant, *, refresh: bool) -> JSONResponse:
        now = int(time.time())
        grant.expires = now + self.access_lifetime
        claims: dict[str, Any] = {
            "aud": grant.scopes[0].rsplit("/", 1)[0] if grant.scopes else "",
            "iss": self.authority,
            "iat": now,
            "exp": now + self.access_lifetime,
            "appid": grant.client_id,
            "upn": grant.user,
        }
        if refresh:  # delegated: the scopes granted to the user
            claims["scp"] = " ".join(s.rsplit("/", 1)[-1] for s in grant.scopes)
        else:  # app-only: the application's roles
            claims["roles"] = ["IMAP.AccessAsApp", "SMTP.SendAsApp"]
        token = _jwt(claims)
        self.access[token] = grant
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": token,
            "expires_in": self.access_lifetime,
            "scope": " ".join(grant.scopes),
        }
        if refresh:
            rotated = secrets.token_urlsafe(32)
            self.refresh[rotated] = Grant(grant.client_id, grant.user, grant.scopes)
            body["refresh_token"] = rotated
            body["id_token"] = _jwt(
                {
                    "iss": self.authority,
                    "aud": grant.client_id,
                    "sub": hashlib.sha256(grant.user.encode()).hexdigest()[:16],
                    "iat": now,
                    "exp": now + 3600,
                    "preferred_username": grant.user,
                }
            )
        return JSONResponse(body)

    async def introspect(self, request: Request) -> Response:
        """RFC 7662: whether a token is active and whom it is for (Dovecot's passdb oauth2)."""
        form = await request.form()
        token = str(form.get("token", "")) or request.headers.get("authorization", "")[7:]
        with self.lock:
            grant = self.active(token)
        if grant is None:
            return JSONResponse({"active": False})
        return JSONResponse({"active": True, "username": grant.user, "exp": int(grant.expires)})


_RESERVED = {"openid", "profile", "offline_access"}


def make_certificate(directory: Path, name: str = "client") -> tuple[Path, bytes]:
    """A client certificate for certificate credentials: (PEM file with key and cert, cert)."""
    folder = directory / name
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = _self_signed_certificate(folder)
    combined = folder / "credential.pem"
    combined.write_bytes(key.read_bytes() + cert.read_bytes())
    return combined, cert.read_bytes()


def _serve(app: Starlette, port: int, **tls: Any) -> tuple[uvicorn.Server, threading.Thread]:
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, timeout_graceful_shutdown=1, **tls
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        raise RuntimeError("the OAuth test server did not start")
    return server, thread


@contextmanager
def running_oauth_server() -> Iterator[OAuthServer]:
    with tempfile.TemporaryDirectory(prefix="oauth-") as tmp:
        cert, key = _self_signed_certificate(Path(tmp))
        port, plain_port = free_port(), free_port()
        server = OAuthServer(
            base=f"https://127.0.0.1:{port}",
            introspection_base=f"http://127.0.0.1:{plain_port}",
            ca_file=cert,
        )
        app = server.app()
        running = [
            _serve(app, port, ssl_certfile=str(cert), ssl_keyfile=str(key)),
            _serve(app, plain_port),
        ]
        try:
            yield server
        finally:
            for uv, thread in running:
                uv.should_exit = True
                thread.join(10)
