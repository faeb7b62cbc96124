"""The console in a real browser: Playwright driving Debian's Chromium (never a downloaded
browser) against `intake-bot web`'s app served by uvicorn on loopback, with PostgreSQL and a
real SMTP server. A caseworker reviews, a lead approves, the requester's email arrives threaded
on their request, and the register lists the relationship; every page is screenshotted and
checked with axe (no serious or critical violation)."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import expect

from intake_bot.bootstrap import App, build, load_reference_data
from intake_bot.samples import new_request
from intake_bot.store import migrate
from intake_bot.store.store import Store
from intake_bot.web.app import create_app
from intake_bot.worker import Worker
from tests.conftest import make_settings, sql_store
from tests.integration.test_web_console import NORTH_CASEWORKER, NORTH_LEAD, PASSWORD, file_request
from tests.register_cases import approved_relationship
from tests.servers import SmtpServer, free_port, require

pytestmark = pytest.mark.integration
# Mailbox places of the emails filed here: the served database is shared by the module's tests.
_uids = itertools.count(1)

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(os.environ.get("INTAKE_BOT_SCREENSHOTS", "test-artifacts/screenshots"))
# As the machine's own probe starts it: no sandbox as root, and no calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def served(tmp_path: Path, postgres_url: str, smtp: SmtpServer) -> Iterator[tuple[App, str]]:
    """The console over PostgreSQL and SMTP, on a loopback port; its application and base URL."""
    settings = make_settings(
        tmp_path,
        postgres_url,
        outgoing={
            "url": f"smtp://{smtp.user}@{smtp.host}:{smtp.port}?tls=none",
            "allow_plain_auth": "true",
            "password": smtp.password or "",
        },
    )
    store = Store.from_url(postgres_url)
    app = build(settings, store=store)
    migrate.upgrade(store)
    _empty(store)
    load_reference_data(app)
    for email, role in ((NORTH_CASEWORKER, "caseworker"), (NORTH_LEAD, "lead")):
        app.staff.add(
            email,
            name=email.split("@")[0],
            offices=["North"],
            role=role,
            password=PASSWORD,
            actor="test",
        )
    port = free_port()
    config = uvicorn.Config(
        create_app(app, secret="k" * 48, secure_cookies=False),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the console did not start"
    try:
        yield app, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        store.dispose()


def _empty(store: Store) -> None:
    """The session's PostgreSQL database is shared: start from no requests and no staff."""
    from sqlalchemy import text

    with store.engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE request, event, outbox, inbound_message, attachment, "
                "staff_account, relationship, relationship_version CASCADE"
            )
        )


@pytest.fixture
def browser() -> Iterator[Any]:
    require(
        shutil.which(CHROMIUM) is not None or Path(CHROMIUM).exists(),
        f"no {CHROMIUM}: apt-get install chromium",
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _check(page: Any, name: str) -> None:
    """A screenshot of the page, and no serious or critical accessibility violation."""
    from axe_playwright_python.sync_playwright import Axe

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)  # a link left under the pointer by the last click shows its hover style
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    violations = Axe().run(page).response["violations"]
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{name}: {bad}"


def _sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/queues")


def test_a_caseworker_reviews_and_a_lead_approves_in_the_browser(
    served: tuple[App, str], browser: Any, smtp: SmtpServer
) -> None:
    app, base = served
    north, london = file_request(app, 0), file_request(app, 3)
    Worker(app).send()  # the acknowledgements
    smtp.clear()
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base}/login")
    _check(page, "login")

    _sign_in(page, base, NORTH_CASEWORKER)
    _check(page, "queues")
    page.get_by_role("link", name="north/new").click()
    _check(page, "queue-north-new")
    page.get_by_role("link", name=north).click()
    page.wait_for_url(f"{base}/requests/{north}")
    _check(page, "request")
    page.get_by_label("Internal note").fill("Spoke to the CSU: the DSA is signed")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("main")).to_contain_text("Internal note added")  # swapped in by htmx
    page.get_by_label("New status").select_option("in_review")
    page.get_by_role("button", name="Change status").click()
    expect(page.locator("main")).to_contain_text("is now in review")
    _check(page, "request-in-review")

    london_file = _file_id(app, london)
    for url in (
        f"/requests/{london}",
        f"/api/requests/{london}",
        f"/requests/{london}/attachments/{london_file}",
        f"/requests/{north}/attachments/{london_file}",
        "/queues/london/new",
    ):
        assert page.goto(f"{base}{url}").status == 404, url
    _check(page, "not-found")
    forged = page.request.post(f"{base}/requests/{north}/note", form={"note": "no token"})
    assert forged.status == 403  # the session cookie alone is not enough
    page.goto(f"{base}/queues")
    page.get_by_role("button", name="Sign out").click()

    _sign_in(page, base, NORTH_LEAD)
    page.goto(f"{base}/requests/{north}")
    page.get_by_label("New status").select_option("approved")
    page.get_by_role("button", name="Change status").click()
    expect(page.locator("main")).to_contain_text("is now approved")

    Worker(app).send()
    received = [(m, message_from_bytes(m.raw, policy=default)) for m in smtp.messages()]
    (approval,) = [(m, e) for m, e in received if "approved" in str(e["Subject"]).lower()]
    assert new_request(0)["requester_email"] in approval[0].rcpt_tos
    assert north in str(approval[1]["Subject"]) and approval[1]["In-Reply-To"]  # threaded
    internal = "Spoke to the CSU"
    assert all(internal not in m.raw.decode("utf-8", "replace") for m, _ in received)

    page.goto(f"{base}/register")
    _check(page, "register")
    assert "NHS Leeds North CCG" in page.text_content("main")
    page.goto(f"{base}/search?q=Leeds")
    _check(page, "search")
    context.close()


def _file_id(app: App, reference: str) -> int:
    detail = app.requests.show(reference)
    (attachment,) = detail.attachments
    assert attachment.id is not None
    return attachment.id


def test_five_wrong_passwords_lock_the_account_in_the_browser(
    served: tuple[App, str], browser: Any
) -> None:
    _, base = served
    page = browser.new_context().new_page()
    for _ in range(5):
        page.goto(f"{base}/login")
        page.get_by_label("Email address").fill(NORTH_CASEWORKER)
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
    expect(page.locator("main")).to_contain_text("locked")
    _check(page, "login-locked")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("main")).to_contain_text("locked")  # the right password, still locked
    assert page.url.endswith("/login")


def test_every_admin_page_passes_the_accessibility_check(
    served: tuple[App, str], browser: Any
) -> None:
    import pyotp

    app, base = served
    file_request(app, 0)
    admin = "ada.admin@nhs.net"
    added = app.staff.add(
        admin, name="Ada", offices=["North"], role="admin", password=PASSWORD, actor="test"
    )
    page = browser.new_context().new_page()
    page.goto(f"{base}/login")
    page.get_by_label("Email address").fill(admin)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    _check(page, "login-code")
    secret = pyotp.parse_uri(added.totp_uri).secret
    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{base}/queues")
    from intake_bot.ports import MessageRef
    from intake_bot.samples import email

    enquiry = app.intake.ingest(email(body="How do I ask?"), MessageRef("t", "1")).inbound_id
    pages = ("staff", "s251", "outbox", "queues/enquiries", "queues/quarantine", "register?all=1")
    for name in (*pages, f"messages/MSG-{enquiry}"):
        page.goto(f"{base}/{name}")
        _check(page, name.replace("/", "-").replace("?all=1", "-all"))


def test_the_register_page_shows_succession_reviews_and_a_lead_decides(
    served: tuple[App, str], browser: Any, smtp: SmtpServer, tmp_path: Path
) -> None:
    from sqlalchemy import text

    from tests.integration.test_ods import LEEDS
    from tests.ods_files import icb_merger_file, sub_icb_files

    app, base = served
    with sql_store(app).engine.begin() as conn:  # shared database: no organisations or reviews left
        conn.execute(text("TRUNCATE ods_organisation, ods_succession, ods_review"))
    leeds = approved_relationship(app, _uids, **LEEDS)
    suffolk = approved_relationship(
        app, _uids, commissioner_ods="QJG", commissioner_name="NHS Suffolk ICB"
    )
    files = [*sub_icb_files(tmp_path), icb_merger_file(tmp_path)]
    reviews = app.organisations.import_files(files, actor="test").reviews
    assert {r.reference for r in reviews} == {leeds.reference, suffolk.reference}
    Worker(app).send()  # the acknowledgements and the review-opened emails
    smtp.clear()
    page = browser.new_context().new_page()

    _sign_in(page, base, NORTH_CASEWORKER)
    _check(page, "queues-reviews-waiting")  # where staff start: the items are pointed to
    page.get_by_role("link", name=re.compile(r"^\d+ ODS review items?$")).click()
    page.wait_for_url(f"{base}/register#reviews-title")
    _check(page, "register-reviews-caseworker")
    reviews_section = page.get_by_role("region", name="Organisations that closed")
    expect(reviews_section).to_contain_text("NHS WEST YORKSHIRE ICB (15F)")
    assert "15F (15F)" not in page.text_content("main")  # each organisation's code once
    expect(reviews_section.get_by_role("button")).to_have_count(0)  # a caseworker only sees
    expect(reviews_section).to_contain_text("Waiting for a lead or an admin to decide")
    page.get_by_role("button", name="Sign out").click()

    _sign_in(page, base, NORTH_LEAD)
    page.goto(f"{base}/register")
    _check(page, "register-reviews-lead")
    # On a narrow window the register's table scrolls inside its own box, not the whole page.
    page.set_viewport_size({"width": 400, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.evaluate("document.querySelector('.table-scroll').scrollWidth > 400")
    page.set_viewport_size({"width": 1280, "height": 720})
    leeds_form = page.get_by_role("form", name=leeds.reference)
    expect(leeds_form.get_by_role("button", name="Carry over to 15F")).to_be_visible()
    expect(reviews_section.get_by_role("button", name="End the relationship")).to_have_count(2)
    leeds_form.get_by_label("Why").fill("The ICB agreed to take it over")
    leeds_form.get_by_role("button", name="Carry over to 15F").click()
    expect(page.locator("main")).to_contain_text(
        f"{leeds.reference} carried over to NHS WEST YORKSHIRE ICB (15F) from 01/07/2022"
    )
    _check(page, "register-reviews-decided")
    expect(page.get_by_role("form", name=leeds.reference)).to_have_count(0)
    expect(page.get_by_role("form", name=suffolk.reference)).to_be_visible()  # still open
    assert "15F (15F)" not in page.text_content("main")  # the register row names it once too
    row = app.register.rows(published_only=False)
    assert [r.commissioner_ods for r in row if r.reference == leeds.reference] == ["15F"]
    # the decision is in the relationship's history, opened from the register
    page.get_by_role("link", name=f"History of {leeds.reference}", exact=True).click()
    page.wait_for_url(f"{base}/register/{leeds.reference}")
    _check(page, "register-history")
    versions = page.get_by_role("region", name="Versions")
    expect(versions.locator("tbody tr")).to_have_count(2)
    expect(versions).to_contain_text("NHS WEST YORKSHIRE ICB (15F)")
    expect(page.get_by_role("region", name="Audit trail")).to_contain_text(
        "The ICB agreed to take it over"
    )

    Worker(app).send()
    received = [message_from_bytes(m.raw, policy=default) for m in smtp.messages()]
    (told,) = [e for e in received if leeds.reference in str(e["Subject"])]
    assert "carried over to 15F" in str(told["Subject"])
    # the email gives ODS's whole name, which the requester may copy into a form
    plain = told.get_body(("plain",))
    assert plain is not None
    assert "the register names NHS WEST YORKSHIRE ICB - 15F as" in plain.get_content()


def test_on_the_register_page_a_lead_carries_over_to_the_second_of_two_successors(
    served: tuple[App, str], browser: Any, smtp: SmtpServer, tmp_path: Path
) -> None:
    """ODS splits a commissioner between two successors: the review offers both, and the one
    chosen (not the first) reaches the register, the audit trail and the email. A caseworker's
    view of a review is the test above's."""
    from sqlalchemy import text

    from tests.integration.test_ods import _events
    from tests.ods_files import split_files

    app, base = served
    with sql_store(app).engine.begin() as conn:  # shared database: no organisations or reviews left
        conn.execute(text("TRUNCATE ods_organisation, ods_succession, ods_review"))
    rel = approved_relationship(
        app, _uids, commissioner_ods="0ZX", commissioner_name="NHS Craven CCG"
    )
    (item,) = app.organisations.import_files(split_files(tmp_path), actor="test").reviews
    Worker(app).send()  # the acknowledgement and the review-opened email
    smtp.clear()
    west, humber = "NHS WEST YORKSHIRE ICB (36J)", "NHS HUMBER AND NORTH YORKSHIRE ICB (42D)"
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    _sign_in(page, base, NORTH_LEAD)
    page.goto(f"{base}/register")
    assert _lines(page.get_by_role("rowheader", name=rel.reference)) == 1  # LCR-000001, unbroken
    (contract,) = [
        r.contract_reference for r in app.register.rows() if r.reference == rel.reference
    ]
    assert _lines(page.get_by_role("cell", name=contract, exact=True)) == 1  # CSU-SLA-2016-100

    reviews = page.get_by_role("region", name="Organisations that closed")
    expect(reviews.get_by_role("heading", level=2)).to_contain_text("1 item to review")
    expect(reviews.get_by_role("form")).to_have_count(1)
    form = page.get_by_role("form", name=f"{item.label}: {rel.reference}")
    expect(reviews).to_contain_text(f"Successors named by ODS{west}; {humber}")
    choice = form.get_by_label("Carry over to")
    expect(choice.locator("option")).to_have_text([west, humber])
    assert choice.locator("option").evaluate_all("os => os.map(o => o.value)") == ["36J", "42D"]
    _check(page, "register-reviews-split")
    choice.select_option(label=humber)
    form.get_by_role("button", name="Carry over").click()
    expect(page.locator("main")).to_contain_text(
        f"{rel.reference} carried over to {humber} from 01/07/2022"
    )
    expect(page.get_by_role("form", name=f"{item.label}: {rel.reference}")).to_have_count(0)
    row = page.get_by_role("row", name=rel.reference)
    expect(row).to_contain_text(humber)
    expect(row).not_to_contain_text("36J")
    assert _lines(page.get_by_role("rowheader", name=rel.reference)) == 1

    carried = [(actor, note) for actor, to, note in _events(app, "ods_review") if to == "carried"]
    assert [a for a, _ in carried] == [NORTH_LEAD] and "0ZX → 42D" in carried[0][1]
    Worker(app).send()
    received = [message_from_bytes(m.raw, policy=default) for m in smtp.messages()]
    (told,) = [e for e in received if rel.reference in str(e["Subject"])]
    assert f"[{rel.reference}] carried over to 42D" in str(told["Subject"])
    plain = told.get_body(("plain",))
    assert plain is not None
    body = plain.get_content()
    # the email gives ODS's whole name: the short one is the ICB's, not the sub-ICB location's
    whole = "NHS HUMBER AND NORTH YORKSHIRE ICB - 42D"
    assert f"the register names {whole} as" in body and "36J" not in body


def _lines(cell: Any) -> int:
    """How many lines a table cell's text takes: its text's boxes at distinct heights."""
    return int(
        cell.evaluate(
            """cell => {
                const range = document.createRange();
                range.selectNodeContents(cell);
                return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
            }"""
        )
    )
