"""Single sign-on against an OpenID Connect provider on loopback (tests/oidc_provider.py): the
provider's signed ID token names an address, the account is this console's. On SQLite and
PostgreSQL, with real HTTP between the console's client (Authlib) and the provider."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from intake_bot.bootstrap import App, build, load_reference_data
from intake_bot.store import migrate
from intake_bot.store.store import Store
from intake_bot.web.app import create_app
from tests.conftest import make_settings
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, running_provider

pytestmark = pytest.mark.integration
PASSWORD = "a long enough password"


@pytest.fixture
def provider() -> Iterator[Provider]:
    with running_provider() as running:
        yield running


@pytest.fixture
def console(
    tmp_path: Path, database_url: str, provider: Provider
) -> Iterator[tuple[App, TestClient]]:
    web = {
        "oidc_issuer": provider.base,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET,
    }
    store = Store.from_url(database_url)
    app = build(make_settings(tmp_path, database_url, web=web), store=store)
    migrate.upgrade(store)
    load_reference_data(app)
    for email, role in (("casey@nhs.net", "caseworker"), ("ada@nhs.net", "admin")):
        app.staff.add(email, name=email, offices=["North"], role=role, password=PASSWORD, actor="t")
    with TestClient(create_app(app, secret="s" * 48, secure_cookies=False)) as client:
        yield app, client
    store.dispose()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _via_provider(client: TestClient, provider: Provider, email: str) -> str:
    """Start single sign-on, let the provider sign in `email`, follow its answer back; the
    page the console lands on (after its redirect)."""
    provider.email = email
    start = client.get("/login/sso", follow_redirects=False)
    assert start.status_code in (302, 303, 307), start.text
    authorize = start.headers["location"]
    assert authorize.startswith(f"{provider.base}/authorize?")
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(authorize, timeout=10)
    except urllib.error.HTTPError as answer:  # the provider's 302 back to the console
        back = answer.headers["Location"]
    parts = urlsplit(back)
    assert parts.path == "/login/sso/callback"
    return client.get(f"{parts.path}?{parts.query}").text


def test_a_staff_account_signs_in_through_the_provider(
    console: tuple[App, TestClient], provider: Provider
) -> None:
    _, client = console
    assert "/login/sso" in client.get("/login").text
    page = _via_provider(client, provider, "Casey@NHS.net")
    assert "Sign out" in page and "casey@nhs.net" in page
    assert client.get("/api/queues").status_code == 200


def test_an_address_without_an_account_here_is_refused(
    console: tuple[App, TestClient], provider: Provider
) -> None:
    _, client = console
    page = _via_provider(client, provider, "stranger@nhs.net")
    assert "has no account here" in page and "Sign out" not in page
    assert client.get("/api/queues").status_code == 401


def test_an_unverified_address_or_a_token_for_another_client_is_refused(
    console: tuple[App, TestClient], provider: Provider
) -> None:
    _, client = console
    provider.email_verified = False
    assert "no verified email" in _via_provider(client, provider, "casey@nhs.net")
    provider.email_verified, provider.audience = True, "some-other-app"
    assert "was refused" in _via_provider(client, provider, "casey@nhs.net")
    assert client.get("/api/queues").status_code == 401


def test_an_admin_still_gives_a_code_after_single_sign_on(
    console: tuple[App, TestClient], provider: Provider
) -> None:
    _, client = console
    page = _via_provider(client, provider, "ada@nhs.net")
    assert 'name="code"' in page and "Sign out" not in page
