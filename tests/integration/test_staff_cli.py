"""What staff type, run through the real command on a real database (SQLite and PostgreSQL):
queue names as people say them, messages that hold no request, and the request commands."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default

import pytest
import time_machine
from typer.testing import CliRunner, Result

from intake_bot.bootstrap import App
from intake_bot.cli import app as cli_app
from intake_bot.domain.organisations import ENDED
from intake_bot.domain.records import InboundMessage
from intake_bot.ports import MessageRef
from intake_bot.samples import DOCX, docx_form, email, new_request
from tests.conftest import REPO, FrozenClock
from tests.register_cases import review_items

RS = "CAG 7-04(a)/2013"  # expires 31/03/2017 (config/s251.toml)
pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _frozen(clock: FrozenClock) -> Iterator[None]:
    """The command builds its own application on the system clock: hold it at the app's time."""
    with time_machine.travel(clock.now, tick=False):
        yield


def _invoke(app: App, *args: str) -> Result:
    env = {
        "INTAKE_BOT_DATABASE_URL": app.settings.database_url(),
        "INTAKE_BOT_MAILBOX_URL": app.settings.mailbox.url,
        "INTAKE_BOT_OUTGOING_URL": app.settings.outgoing.url,
        "INTAKE_BOT_PATHS_TEMPLATES": str(REPO / "templates"),
        "COLUMNS": "200",
    }
    config = str(REPO / "config/intake-bot.toml")
    return CliRunner().invoke(cli_app, ["--config", config, *args], env=env)


def _ok(app: App, *args: str) -> str:
    result = _invoke(app, *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def _ingest(app: App, raw: bytes) -> str:
    result = app.intake.ingest(raw, MessageRef("INBOX", uuid.uuid4().hex))
    return result.references[0] if result.references else f"MSG-{result.inbound_id}"


def _form(i: int, **values: str) -> bytes:
    return email(attachments=[("form.docx", DOCX, docx_form(new_request(i, **values)))])


def test_queue_names_are_matched_as_staff_type_them_and_an_unknown_one_is_an_error(
    app: App,
) -> None:
    north = _ingest(app, _form(0))
    midlands = _ingest(app, _form(2))
    for typed in ("north", "North/new", "NORTH"):
        listed = json.loads(_ok(app, "queue", typed, "--json"))
        assert [i["reference"] for i in listed] == [north], typed
    assert [i["reference"] for i in json.loads(_ok(app, "queue", "m&e/new", "--json"))] == [
        midlands
    ]
    empty = _ok(app, "queue", "m&e/change")
    assert "nothing waiting in midlands-and-east/change" in empty
    unknown = _invoke(app, "queue", "nowhere")
    assert unknown.exit_code == 2
    assert "no queue 'nowhere'" in unknown.stderr and "north/new" in unknown.stderr
    table = _ok(app, "queue")
    assert north in table and midlands in table


def test_json_dates_are_iso_and_tables_are_dd_mm_yyyy(app: App) -> None:
    reference = _ingest(app, _form(0))
    (item,) = json.loads(_ok(app, "queue", "--json"))
    assert item["received"] == "2016-03-21T09:00:00+00:00" and item["due_on"] == "2016-04-06"
    shown = _ok(app, "request", "show", reference)
    assert "due 06/04/2016" in shown and "21/03/2016 09:00" in shown


def test_request_show_has_no_due_date_once_closed(app: App) -> None:
    reference = _ingest(app, _form(0))
    _ok(app, "request", "set-status", reference, "withdrawn", "--by", "Sam")
    detail = json.loads(_ok(app, "request", "show", reference, "--json"))
    assert detail["closed"] is True and detail["due_on"] is None
    assert "due" not in _ok(app, "request", "show", reference).splitlines()[0]
    trail = detail["events"][-1]
    assert (trail["actor"], trail["to_status"]) == ("Sam", "withdrawn")
    unknown = _invoke(app, "request", "show", "LR-999999")
    assert unknown.exit_code == 2 and "no request" in unknown.stderr


def test_approving_a_relationship_that_starts_after_its_approval_expires_warns(app: App) -> None:
    reference = _ingest(
        app,
        _form(0, purposes="Risk stratification", s251_references=RS, effective_date="03/04/2017"),
    )
    _ok(app, "request", "set-status", reference, "in_review")
    approved = _ok(app, "request", "set-status", reference, "approved", "--by", "Sam")
    assert "LCR-000001" in approved
    assert f"WARNING: {RS} expires on 31/03/2017, before LCR-000001 takes effect on 03/04/2017" in (
        " ".join(approved.split())
    )
    shown = " ".join(_ok(app, "request", "show", reference).split())
    assert f"WARNING: {RS} expires on 31/03/2017" in shown


def test_an_enquiry_is_read_answered_and_closed_from_the_command_line(app: App) -> None:
    raw = email(
        sender="pat.jones@nhs.net",
        subject="A question",
        body="Hello,\n\n<b>How</b> do I ask?\n\nPat\n",
    )
    message = _ingest(app, raw)
    shown = _ok(app, "message", "show", message.lower())
    assert "From: Aisha Khan <pat.jones@nhs.net>" in shown and "<b>How</b> do I ask?" in shown
    detail = json.loads(_ok(app, "message", "show", message.removeprefix("MSG-"), "--json"))
    assert (detail["outcome"], detail["queue"], detail["awaiting_staff"]) == (
        "enquiry",
        "enquiries",
        True,
    )
    answered = _ok(app, "message", "answer", message, "--text", "Use the form.", "--by", "Sam")
    assert "answer queued to pat.jones@nhs.net" in answered
    with app.store.unit() as unit:
        (row,) = [o for o in unit.outbox.for_() if o.kind == "staff_answer"]
        sent = message_from_bytes(unit.outbox.raw(row.id or 0), policy=default)
    original = message_from_bytes(raw, policy=default)
    assert str(sent["In-Reply-To"]).strip() == str(original["Message-ID"]).strip()
    assert str(sent["Subject"]) == "Re: A question"
    refused = _invoke(app, "message", "close", message)
    assert refused.exit_code == 2  # --note is required
    _ok(app, "message", "close", message, "--note", "answered")
    assert json.loads(_ok(app, "queue", "enquiries", "--json")) == []
    again = _invoke(app, "message", "close", message, "--note", "twice")
    assert again.exit_code == 1 and "not awaiting staff" in again.stderr
    actions = [
        e["action"] for e in json.loads(_ok(app, "message", "show", message, "--json"))["events"]
    ]
    assert actions[-2:] == ["answer", "close"]


def test_an_enquiry_is_linked_to_a_request_as_its_correspondence(app: App) -> None:
    request = _ingest(app, _form(0))
    message = _ingest(app, email(sender="aisha.khan@nhs.net", body="Also, the DSA is signed.\n"))
    _ok(app, "message", "link", message, request)
    detail = json.loads(_ok(app, "request", "show", request, "--json"))
    assert [e["reference"] for e in detail["emails_in"]][-1] == message


def test_a_quarantined_message_is_released_and_filed(app: App) -> None:
    raw = _form(0)
    inbound_id = app.intake.quarantine(raw, MessageRef("INBOX", "poison"), "crashed 3 times")
    assert inbound_id is not None
    released = _ok(app, "message", "release", f"MSG-{inbound_id}", "--by", "Sam")
    assert "released, filed" in released and "LR-000001" in released
    with app.store.unit() as unit:
        old = unit.messages.get(inbound_id)
        assert isinstance(old, InboundMessage) and old.queue is None and old.request_id == 1
    assert json.loads(_ok(app, "queue", "quarantine", "--json")) == []


def test_the_whole_listing_ends_with_the_ods_review_items_waiting(app: App) -> None:
    """ODS review items are not a queue, but they wait for staff: `queue` counts them and says
    where they are listed; a single queue's listing is that queue's only."""
    assert "ODS review" not in _ok(app, "queue")
    review_items(app, ("open",))
    empty = _ok(app, "queue")
    assert "every queue is empty" in empty
    assert "1 ODS review item waits for a decision: intake-bot ods reviews" in empty
    review_items(app, ("open", ENDED), first=2)
    north = _ingest(app, _form(0))
    table = _ok(app, "queue")
    assert north in table and "2 ODS review items wait for a decision" in table
    assert "flags" in table  # staff's flags counted beside the problems, as the console shows
    assert "ODS review" not in _ok(app, "queue", "north")
    assert isinstance(json.loads(_ok(app, "queue", "--json")), list)  # the JSON is unchanged
