"""What the sender is told when a form's labels are another version's than it declares, and when
its version is newer than any the bot reads, through the real pipeline (Maildir in, the real
templates, `.eml` files out)."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from intake_bot.bootstrap import App
from intake_bot.domain.form_versions import CURRENT_VERSION
from intake_bot.mail.maildir import deliver
from intake_bot.samples import DOCX, email, new_request
from intake_bot.worker import Worker
from tests.old_forms import word_form

FORMS = ("legitimate-relationship-request.docx", "legitimate-relationship-request.xlsx")


def _poll(app: App, data: bytes) -> tuple[str, EmailMessage]:
    maildir = Path(app.settings.mailbox.url.split(":", 1)[1])
    deliver(maildir, email(attachments=[("request.docx", DOCX, data)]))
    Worker(app).run_once()
    folder = Path(app.settings.outgoing.url.split(":", 1)[1])
    (path,) = folder.glob("*.eml")
    reply: EmailMessage = message_from_bytes(path.read_bytes(), policy=default)  # type: ignore[assignment]
    body = reply.get_body(("plain",))
    assert body is not None
    return " ".join(str(body.get_content()).split()), reply  # type: ignore[attr-defined]


def _attached(msg: EmailMessage) -> list[str]:
    return sorted(str(part.get_filename()) for part in msg.iter_attachments())


def test_todays_blank_holding_2016_labels_is_filed_whole_and_sent_the_current_form(
    app: App,
) -> None:
    text, reply = _poll(app, word_form(new_request(0), version=CURRENT_VERSION))

    assert "Action needed" not in str(reply["Subject"])
    assert "uses labels of an older version (2016.1)" in text
    assert _attached(reply) == sorted(FORMS)
    with app.store.unit() as unit:
        (request,) = unit.requests.matching()
        flags = [f["message"] for f in request.flags]
    assert any(f"says it is version {CURRENT_VERSION}" in f and "2016.1's" in f for f in flags)


def test_todays_labels_declaring_2016_are_not_called_an_older_form(app: App) -> None:
    text, reply = _poll(app, word_form(new_request(0), version="2016.1", names={}))

    assert "newer request form" not in text and "older version" not in text
    assert _attached(reply) == []


def test_a_form_newer_than_the_bot_reads_is_told_staff_will_look(app: App) -> None:
    text, _ = _poll(app, word_form(new_request(0), version="2027.1", names={}))

    assert "version 2027.1 of the request form, newer than the forms we can read" in text
    assert "copy your answers" not in text and "nothing more you need to do" in text
    (item,) = app.queues.items("quarantine").items
    assert app.messages.show(item.reference).awaiting_staff
