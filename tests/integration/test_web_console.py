"""The staff web console over HTTP (Starlette's test client on the real app), on SQLite and
PostgreSQL: sign-in, lock-out, idle sessions, per-office access (404 outside one's offices, by
page and API alike), CSRF, security headers, and the review-then-approve workflow."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pyotp
import pytest
from starlette.testclient import TestClient

from intake_bot.bootstrap import App
from intake_bot.ports import MessageRef
from intake_bot.samples import DOCX, docx_form, email, new_request
from intake_bot.web.app import create_app

pytestmark = pytest.mark.integration

PASSWORD = "a long enough password"
NORTH_CASEWORKER = "casey.north@nhs.net"
NORTH_LEAD = "lee.north@nhs.net"
SECRET = "s" * 48


def file_request(app: App, i: int) -> str:
    """File sample form `i` as a poll would (0: a North CCG, 3: a London one)."""
    raw = email(attachments=[("form.docx", DOCX, docx_form(new_request(i)))])
    (reference,) = app.intake.ingest(raw, MessageRef("test", str(i))).references
    return reference


@pytest.fixture
def console(app: App) -> Iterator[TestClient]:
    app.staff.add(
        NORTH_CASEWORKER,
        name="Casey North",
        offices=["North"],
        role="caseworker",
        password=PASSWORD,
        actor="test",
    )
    app.staff.add(
        NORTH_LEAD,
        name="Lee North",
        offices=["North"],
        role="lead",
        password=PASSWORD,
        actor="test",
    )
    with TestClient(create_app(app, secret=SECRET, secure_cookies=False)) as client:
        yield client


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, "no CSRF field on the page"
    return match.group(1)


def sign_in(
    client: TestClient, email: str, password: str = PASSWORD, *, app: App | None = None
) -> str:
    """Sign in (with the authenticator's code too, when the account has one and `app` is given
    to read its secret); the page it lands on."""
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"email": email, "password": password, "csrf": token})
    if app is not None and 'name="code"' in response.text:
        with app.store.unit() as unit:
            account = unit.staff.by_email(email)
            assert account is not None and account.totp_secret
            code = pyotp.TOTP(account.totp_secret).at(app.clock())  # the console's clock
        response = client.post("/login", data={"code": code, "csrf": csrf_of(response.text)})
    return response.text


def test_a_caseworker_sees_their_own_offices_work_and_nothing_else(
    app: App, console: TestClient
) -> None:
    north, london = file_request(app, 0), file_request(app, 3)
    page = sign_in(console, NORTH_CASEWORKER)
    assert "north/new" in page and "london/new" not in page
    assert north in console.get("/queues/north/new").text
    for url in (
        f"/requests/{london}",
        f"/api/requests/{london}",
        "/queues/london/new",
        "/requests/LR-999999",
    ):
        assert console.get(url).status_code == 404, url
    assert console.get(f"/api/requests/{north}").json()["reference"] == north
    listed = [i["reference"] for i in console.get("/api/queues").json()["items"]]
    assert listed == [north]
    assert london not in console.get("/search", params={"q": "Islington"}).text


def test_signed_out_pages_go_to_sign_in_and_the_api_answers_401(console: TestClient) -> None:
    response = console.get("/queues", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert console.get("/api/queues").status_code == 401


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    app: App, console: TestClient
) -> None:
    north = file_request(app, 0)
    sign_in(console, NORTH_CASEWORKER)
    response = console.post(f"/requests/{north}/note", data={"note": "sneaky"})
    assert response.status_code == 403
    response = console.post(f"/requests/{north}/note", data={"note": "x", "csrf": "forged"})
    assert response.status_code == 403
    with app.store.unit() as unit:
        assert "note" not in [e.action for e in unit.events.for_(request_id=1)]


def test_five_wrong_passwords_lock_the_account(console: TestClient) -> None:
    for _ in range(5):
        page = sign_in(console, NORTH_CASEWORKER, "not the password")
    assert "locked" in page
    page = sign_in(console, NORTH_CASEWORKER)  # the right password, while locked
    assert "locked" in page and "Sign out" not in page


def test_an_idle_session_ends_after_30_minutes(
    console: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_in(console, NORTH_CASEWORKER)
    assert console.get("/queues").status_code == 200
    later = time.time() + 31 * 60
    monkeypatch.setattr(time, "time", lambda: later)  # the `time` module that web/auth.py reads
    response = console.get("/queues", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_a_disabled_account_is_signed_out_at_once(app: App, console: TestClient) -> None:
    sign_in(console, NORTH_CASEWORKER)
    app.staff.disable(NORTH_CASEWORKER, actor="test")
    assert console.get("/queues", follow_redirects=False).status_code == 303


def test_every_response_carries_the_security_headers_and_a_strict_cookie(
    console: TestClient,
) -> None:
    login = console.get("/login")
    for response in (login, console.get("/nowhere"), console.get("/static/app.css")):
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", login.text, re.S)
    assert all("src=" in attrs and not body.strip() for attrs, body in scripts)  # no inline code
    assert "style=" not in login.text


def test_review_with_an_internal_note_then_a_lead_approves(app: App, console: TestClient) -> None:
    north = file_request(app, 0)
    sign_in(console, NORTH_CASEWORKER)
    page = console.get(f"/requests/{north}").text
    assert 'value="approved"' not in page  # a caseworker is not offered the decision
    token = csrf_of(page)
    note = "Checked the DSA with the CSU by phone"
    console.post(f"/requests/{north}/note", data={"note": note, "csrf": token})
    console.post(f"/requests/{north}/status", data={"status": "in_review", "csrf": token})
    refused = console.post(f"/requests/{north}/status", data={"status": "approved", "csrf": token})
    assert "Only a lead can approve" in refused.text
    assert console.get(f"/api/requests/{north}").json()["status"] == "in_review"

    console.post("/logout", data={"csrf": token})
    sign_in(console, NORTH_LEAD)
    token = csrf_of(console.get(f"/requests/{north}").text)
    done = console.post(f"/requests/{north}/status", data={"status": "approved", "csrf": token})
    assert "is now approved" in done.text

    with app.store.unit() as unit:
        events = unit.events.for_(request_id=1)
        outbox = unit.outbox.for_(request_id=1)
        raws = [unit.outbox.raw(o.id or 0) for o in outbox]
        kinds = [o.kind for o in outbox]
    (noted,) = [e for e in events if e.action == "note"]
    assert noted.actor == NORTH_CASEWORKER and noted.note == note
    assert [e.actor for e in events if e.to_status == "approved"] == [NORTH_LEAD]
    assert all(note.encode() not in raw for raw in raws)  # internal: never emailed
    assert kinds == ["ack_valid", "status_update", "status_update"], kinds
    told = message_from_bytes(raws[-1], policy=default)
    assert north in str(told["Subject"]) and told["In-Reply-To"]  # threaded on the request
    assert "approved" in told.get_body(("plain",)).get_content().lower()  # type: ignore[union-attr]
    register = console.get("/register").text
    assert "NHS Leeds North CCG" in register and "LCR-" in register


def _attachment_id(client: TestClient, reference: str) -> int:
    match = re.search(
        rf"/requests/{reference}/attachments/(\d+)", client.get(f"/requests/{reference}").text
    )
    assert match, "no attachment link"
    return int(match.group(1))


def test_files_are_downloads_and_another_offices_file_is_404(app: App, console: TestClient) -> None:
    north, london = file_request(app, 0), file_request(app, 3)
    sign_in(console, NORTH_LEAD)
    north_file = _attachment_id(console, north)
    response = console.get(f"/requests/{north}/attachments/{north_file}")
    assert response.status_code == 200 and response.content.startswith(b"PK")
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"].startswith('attachment; filename="form.docx"')
    london_file = north_file + 1  # filed next
    for url in (
        f"/requests/{london}/attachments/{london_file}",
        f"/requests/{north}/attachments/{london_file}",  # not this request's file
        f"/messages/MSG-2/attachments/{london_file}",
        "/messages/MSG-2",
    ):
        assert console.get(url).status_code == 404, url


def test_an_enquiry_is_read_answered_and_closed(app: App, console: TestClient) -> None:
    raw = email(
        subject="Data Services for Commissioners - Legitimate Relationships",
        body="How do I <b>ask</b> for a relationship?",
    )
    result = app.intake.ingest(raw, MessageRef("test", "q1"))
    ref = f"MSG-{result.inbound_id}"
    sign_in(console, NORTH_CASEWORKER)
    assert ref in console.get("/queues/enquiries").text
    page = console.get(f"/messages/{ref}").text
    assert "How do I &lt;b&gt;ask&lt;/b&gt;" in page  # shown as text, never as HTML
    token = csrf_of(page)
    console.post(f"/messages/{ref}/answer", data={"text": "Use the form attached.", "csrf": token})
    console.post(f"/messages/{ref}/close", data={"note": "answered", "csrf": token})
    with app.store.unit() as unit:
        actions = [e.action for e in unit.events.for_(inbound_id=result.inbound_id)]
    assert "answer" in actions and "close" in actions
    assert ref not in console.get("/queues/enquiries").text


def test_a_patient_data_hold_is_for_leads_only(app: App, console: TestClient) -> None:
    raw = email(body="About patient 943 476 5919, please advise.")
    result = app.intake.ingest(raw, MessageRef("test", "p1"))
    ref = f"MSG-{result.inbound_id}"
    sign_in(console, NORTH_CASEWORKER)
    assert console.get(f"/messages/{ref}").status_code == 404
    assert ref not in console.get("/queues/quarantine").text
    console.post("/logout", data={"csrf": csrf_of(console.get("/queues").text)})
    sign_in(console, NORTH_LEAD)
    assert console.get(f"/messages/{ref}").status_code == 200
    assert ref in console.get("/queues/quarantine").text


ADMIN = "ada.admin@nhs.net"


def _admin(app: App) -> None:
    app.staff.add(
        ADMIN, name="Ada Admin", offices=["North"], role="admin", password=PASSWORD, actor="test"
    )


def test_the_register_downloads_and_only_an_admin_imports(app: App, console: TestClient) -> None:
    _admin(app)
    sign_in(console, NORTH_CASEWORKER)
    xlsx = console.get("/register/export?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")
    assert xlsx.headers["content-disposition"].startswith("attachment;")
    csv_text = console.get("/register/export?format=csv").text
    assert csv_text.lstrip("\ufeff").startswith("Relationship reference")  # BOM: for Excel
    token = csrf_of(console.get("/register").text)
    files = {"file": ("register.csv", csv_text.encode(), "text/csv")}
    refused = console.post("/register/import", data={"csrf": token, "dry_run": "yes"}, files=files)
    assert "Only an admin can import" in refused.text
    console.post("/logout", data={"csrf": token})
    sign_in(console, ADMIN, app=app)
    token = csrf_of(console.get("/register").text)
    done = console.post("/register/import", data={"csrf": token, "dry_run": "yes"}, files=files)
    assert "What importing register.csv would do" in done.text


def test_s251_and_outbox_pages_and_who_may_act_on_them(app: App, console: TestClient) -> None:
    _admin(app)
    (approval,) = app.s251.list()[:1]
    sign_in(console, NORTH_CASEWORKER)
    page = console.get("/s251").text
    assert approval.reference in page and "Extend an approval" not in page
    token = csrf_of(page)
    refused = console.post(
        "/s251/extend",
        data={"csrf": token, "reference": approval.reference, "until": "2040-01-01"},
    )
    assert "Only an admin" in refused.text
    assert "Only a lead" in console.post("/outbox/retry", data={"csrf": token}).text
    console.post("/logout", data={"csrf": token})
    sign_in(console, ADMIN, app=app)
    token = csrf_of(console.get("/s251").text)
    done = console.post(
        "/s251/extend",
        data={"csrf": token, "reference": approval.reference, "until": "2040-01-01", "note": "x"},
    )
    assert "Extended to 01/01/2040" in done.text
    assert "No email has failed" in console.get("/outbox").text


def test_health_and_metrics_name_no_request(app: App, console: TestClient) -> None:
    north = file_request(app, 0)
    assert console.get("/healthz").json()["problems"] == ["mailbox enquiries: never polled"]
    app.mailboxes.poll("enquiries")
    health = console.get("/healthz")
    assert health.status_code == 200 and health.json()["last_poll_age_seconds"] == {"enquiries": 0}
    text = console.get("/metrics").text
    assert 'intake_bot_messages{outcome="filed"} 1.0' in text
    assert 'intake_bot_queue_size{queue="north/new"} 1.0' in text
    assert 'intake_bot_outbox_emails{status="pending"} 1.0' in text
    assert 'intake_bot_last_poll_duration_seconds{mailbox="enquiries"}' in text
    assert 'intake_bot_last_poll_ok{mailbox="enquiries"} 1.0' in text
    assert north not in text and "nhs.net" not in text


def test_search_finds_by_reference_ods_and_sender_and_takes_wildcards_literally(
    app: App, console: TestClient
) -> None:
    north, darlington = file_request(app, 0), file_request(app, 1)
    sign_in(console, NORTH_CASEWORKER)

    def found(text: str) -> list[str]:
        page = console.get("/api/queues", params={"q": text}).json()
        return [i["reference"] for i in page["items"]]

    assert found(north) == [north]
    assert found("00C") == [darlington]  # Darlington's ODS code
    assert found("Darlington") == [darlington]
    assert found("%") == [] and found("_") == []
    assert found("") == [north, darlington]
    listed = console.get("/api/queues", params={"limit": "1", "offset": "1"}).json()
    assert listed["total"] == 2 and [i["reference"] for i in listed["items"]] == [darlington]


def test_the_nhs_styles_and_htmx_are_served_by_the_console_itself(console: TestClient) -> None:
    from tests.servers import require

    vendor = Path(__file__).resolve().parents[2] / "intake_bot/web/static/vendor"
    require((vendor / "htmx.min.js").is_file(), "front-end assets not built: scripts/build-assets")
    css = console.get("/static/vendor/nhsuk-frontend.min.css")
    assert css.status_code == 200 and ".nhsuk-button" in css.text
    assert "assets.nhs.uk" not in css.text  # no font or image from a CDN
    assert console.get("/static/vendor/htmx.min.js").status_code == 200
    page = console.get("/login").text
    assert 'href="/static/vendor/nhsuk-frontend.min.css"' in page
    assert 'src="/static/vendor/htmx.min.js"' in page and "//" not in page.split("<body")[
        0
    ].replace("http-equiv", "")


def test_an_admin_signs_in_with_a_code_and_a_wrong_code_counts_as_a_wrong_password(
    app: App, console: TestClient
) -> None:
    _admin(app)
    token = csrf_of(console.get("/login").text)
    asked = console.post("/login", data={"email": ADMIN, "password": PASSWORD, "csrf": token})
    assert 'name="code"' in asked.text and "Sign out" not in asked.text
    assert 'name="password"' not in asked.text  # the password is never asked for again
    assert console.get("/queues", follow_redirects=False).status_code == 303  # not signed in
    for _ in range(5):
        page = console.post("/login", data={"code": "000000", "csrf": csrf_of(asked.text)}).text
        console.post("/login", data={"email": ADMIN, "password": PASSWORD, "csrf": token})
    assert "locked" in page or "locked" in sign_in(console, ADMIN, app=app)
    assert "Sign out" not in sign_in(console, ADMIN, app=app)


def test_an_admin_manages_accounts_and_approvals_and_no_one_else_can(
    app: App, console: TestClient
) -> None:
    _admin(app)
    sign_in(console, NORTH_LEAD)
    assert console.get("/staff").status_code == 404  # not even shown to a lead
    token = csrf_of(console.get("/queues").text)
    assert console.post("/staff/add", data={"csrf": token, "email": "x@nhs.net"}).status_code == 404
    console.post("/logout", data={"csrf": token})
    sign_in(console, ADMIN, app=app)
    token = csrf_of(console.get("/staff").text)
    added = console.post(
        "/staff/add",
        data={
            "csrf": token,
            "email": "new.lead@nhs.net",
            "name": "New Lead",
            "role": "lead",
            "office-1": "North",
            "office-3": "London",
            "password": PASSWORD,
        },
    )
    assert "new.lead@nhs.net can sign in" in added.text and "North, London" in added.text
    console.post("/staff/disable", data={"csrf": token, "email": "new.lead@nhs.net"})
    assert "disabled" in console.get("/staff").text
    done = console.post(
        "/s251/add",
        data={
            "csrf": token,
            "reference": "CAG 9-01(a)/2026",
            "title": "A study",
            "purposes": "Invoice validation; Risk stratification",
            "expires": "2030-01-01",
        },
    )
    assert "CAG 9-01(a)/2026 added" in done.text


def test_an_enquiry_is_linked_to_a_request_from_the_request_page(
    app: App, console: TestClient
) -> None:
    north = file_request(app, 0)
    result = app.intake.ingest(email(body="About my request, a question."), MessageRef("t", "q"))
    ref = f"MSG-{result.inbound_id}"
    sign_in(console, NORTH_CASEWORKER)
    token = csrf_of(console.get(f"/requests/{north}").text)
    page = console.post(f"/requests/{north}/link", data={"csrf": token, "message": ref}).text
    assert f"{ref} is now correspondence on {north}" in page
    unknown = console.post(f"/requests/{north}/link", data={"csrf": token, "message": "MSG-999"})
    assert "No email you can see" in unknown.text


def test_the_api_gives_the_same_reads_under_the_same_rules(app: App, console: TestClient) -> None:
    file_request(app, 3)  # London: not this caseworker's
    result = app.intake.ingest(email(body="A question, no form."), MessageRef("t", "e"))
    sign_in(console, NORTH_CASEWORKER)
    message = console.get(f"/api/messages/MSG-{result.inbound_id}").json()
    assert message["outcome"] == "enquiry" and "A question" in message["body"]
    assert console.get("/api/messages/MSG-1").status_code == 404  # the London request's email
    assert console.get("/api/register").json() == {"relationships": []}
    approvals = console.get("/api/s251").json()
    assert approvals["approvals"] and "next_due" in approvals["reminders"]
    assert "counts" in console.get("/api/outbox").json()


def test_the_queue_and_search_count_in_words_and_keep_a_reference_on_one_line(
    app: App, console: TestClient
) -> None:
    file_request(app, 0)
    sign_in(console, NORTH_CASEWORKER)
    queue = console.get("/queues/north/new").text
    assert "<p>1 request.</p>" in queue and "(s)" not in queue
    assert '<th scope="row" class="nowrap">' in queue  # LR-000001 never breaks at its hyphen
    file_request(app, 1)
    assert "<p>2 requests." in console.get("/queues/north/new").text
    found = console.get("/search", params={"q": "NHS"}).text
    assert "2 open requests match" in found, found
    one = console.get("/search", params={"q": "LR-000001"}).text
    assert "1 open request matches" in one, one
