"""A form typed as text (a .csv, `Label: value` lines in the email) may give its version on a
row of its own, "Form version: 2016.1": it is read as a Word or Excel form's declared version."""

from __future__ import annotations

import csv
import io
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest

from intake_bot.bootstrap import App
from intake_bot.domain.fields import FIELDS_BY_KEY
from intake_bot.domain.form_versions import CURRENT_VERSION, version_note
from intake_bot.forms.text import read_body
from intake_bot.forms.version_files import load_form_versions
from intake_bot.mail.maildir import deliver
from intake_bot.samples import email, new_request
from intake_bot.worker import Worker
from tests.old_forms import FORM_2016

FORMS = ("legitimate-relationship-request.docx", "legitimate-relationship-request.xlsx")
HOW = ("body", "csv")


def _rows(version_row: tuple[str, str], old: bool = False) -> list[tuple[str, str]]:
    """The form's label and value rows (today's labels, or the 2016 form's), the version row
    among them, where a label that names no field would be flagged."""
    values = new_request(0)
    labels = {k: FORM_2016[k][0] for k in FORM_2016} if old else {}
    rows = [(labels.get(k) or FIELDS_BY_KEY[k].label, v) for k, v in values.items()]
    return [*rows[:3], version_row, *rows[3:]]


def _send(app: App, how: str, rows: list[tuple[str, str]]) -> EmailMessage:
    maildir = Path(app.settings.mailbox.url.split(":", 1)[1])
    if how == "body":
        lines = "\n".join(f"{label}: {value}" for label, value in rows)
        deliver(maildir, email(body=f"Hello,\n\n{lines}\n\nKind regards\n"))
    else:
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        deliver(maildir, email(attachments=[("request.csv", "text/csv", out.getvalue().encode())]))
    Worker(app).run_once()
    folder = Path(app.settings.outgoing.url.split(":", 1)[1])
    (sent,) = folder.glob("*.eml")
    reply = message_from_bytes(sent.read_bytes(), policy=default)
    assert isinstance(reply, EmailMessage)
    return reply


def _text(msg: EmailMessage) -> str:
    body = msg.get_body(("plain",))
    assert body is not None
    return " ".join(str(body.get_content()).split())


def _attached(msg: EmailMessage) -> list[str]:
    return sorted(str(part.get_filename()) for part in msg.iter_attachments())


def _filed(app: App) -> tuple[dict[str, object], list[str]]:
    with app.store.unit() as unit:
        (request,) = unit.requests.matching()
        return dict(request.values), [f["message"] for f in request.flags]


@pytest.mark.parametrize("how", HOW)
def test_todays_version_typed_is_read_with_no_flag(app: App, how: str) -> None:
    reply = _send(app, how, _rows(("Form version", CURRENT_VERSION)))

    assert "Request received" in str(reply["Subject"])
    assert "newer request form" not in _text(reply) and _attached(reply) == []
    values, flags = _filed(app)
    assert values["commissioner_name"] == new_request(0)["commissioner_name"]
    assert not any("version" in flag.casefold() for flag in flags), flags


@pytest.mark.parametrize("how", HOW)
def test_an_older_version_typed_with_its_labels_is_read_and_sent_the_newer_form(
    app: App, how: str
) -> None:
    reply = _send(app, how, _rows(("Version", "2016.1"), old=True))

    text = _text(reply)
    assert "Request received" in str(reply["Subject"]), text
    assert "A newer request form exists" in text
    assert "You sent version 2016.1 of the form" in text  # it said so: it is told so
    assert _attached(reply) == sorted(FORMS)
    values, flags = _filed(app)
    for key in ("commissioner_name", "commissioner_ods", "contract_reference"):  # 2016's labels
        assert values[key] == new_request(0)[key], key
    assert any("the form is version 2016.1" in flag for flag in flags), flags
    assert not any("name no field" in flag for flag in flags), flags


@pytest.mark.parametrize("how", HOW)
def test_an_unknown_version_typed_is_not_filed_and_staff_review_it(app: App, how: str) -> None:
    reply = _send(app, how, _rows(("Form version", "2031.1")))

    with app.store.unit() as unit:
        assert list(unit.requests.matching()) == []
    text = _text(reply)
    assert "version 2031.1 of the request form" in text
    assert "newer than the forms we can read" in text and "staff will look" in text
    assert _attached(reply) == sorted(FORMS)
    (item,) = app.queues.items("quarantine").items
    message = app.messages.show(item.reference)
    assert message.outcome == "unreadable" and message.awaiting_staff
    assert "form_version" in message.note


def test_an_unknown_version_typed_in_the_email_is_named_as_the_typed_form(app: App) -> None:
    reply = _send(app, "body", _rows(("Form version", "2019.3")))

    text = _text(reply)
    assert "We could not read the form typed in your email:" in text
    assert "the file you sent" not in text
    assert "The form typed in your email is on version 2019.3 of the request form" in text
    assert f"current form (version {CURRENT_VERSION}), attached" in text


@pytest.mark.parametrize("how", HOW)
def test_garbage_after_form_version_is_not_quoted_and_the_form_is_read_by_its_labels(
    app: App, how: str
) -> None:
    garbage = "see https://evil.example/v2026.1 or ring extension 4477"
    reply = _send(app, how, _rows(("Form version", garbage)))

    text = _text(reply)
    assert "Request received" in str(reply["Subject"]), text
    assert "evil" not in text and "4477" not in text
    values, flags = _filed(app)
    assert values["commissioner_name"] == new_request(0)["commissioner_name"]
    (flag,) = [f for f in flags if "version" in f]
    assert "a version we do not recognise" in flag and "read by its labels" in flag
    assert "evil" not in flag and "4477" not in flag


def test_a_typed_version_whose_labels_do_not_read_the_form_falls_back_to_its_labels() -> None:
    # Today's version typed above the 2016 form's labels: read by them, as a Word form is.
    versions = load_form_versions(Path(__file__).resolve().parents[2] / "config" / "forms")
    lines = [f"{label}: {value}" for label, value in _rows(("Form version", CURRENT_VERSION), True)]
    form = read_body("\n".join(lines), versions)

    assert form is not None
    assert form.values["commissioner_ods"] == new_request(0)["commissioner_ods"]
    assert version_note(form) == (
        f"the form says it is version {CURRENT_VERSION}, but its labels are version 2016.1's: "
        "read through the mapping for 2016.1 (config/forms/); check that every value landed in "
        "the right field; the sender was sent the current form"
    )
