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
from intake_bot.samples import DOCX, docx_form, email, new_request
from intake_bot.worker import Worker
from tests.old_forms import word_form

FORMS = ("legitimate-relationship-request.docx", "legitimate-relationship-request.xlsx")


def _poll(app: App, data: bytes) -> tuple[str, EmailMessage]:
    maildir = Path(app.settings.mailbox.url.split(":", 1)[1])
    deliver(maildir, email(attachments=[("request.docx", DOCX, data)]))
    Worker(app).run_once()
    folder = Path(app.settings.outgoing.url.split(":", 1)[1])
    (path,) = folder.glob("*.eml")
    reply: EmailMessage = message_from_bytes(path.read_bytes(), policy=default)
    body = reply.get_body(("plain",))
    assert body is not None
    return " ".join(str(body.get_content()).split()), reply


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


def test_a_correction_on_a_version_not_read_is_asked_for_again_as_a_reply(app: App) -> None:
    """A party's correction of an incomplete request, on a version no file maps: the cannot-read
    reply asks for today's form in a reply to it (which corrects the request), never in a new
    email (which would file the request a second time)."""
    maildir = Path(app.settings.mailbox.url.split(":", 1)[1])
    outbox = Path(app.settings.outgoing.url.split(":", 1)[1])
    incomplete = docx_form(new_request(1, contract_signed_date="31/13/2016"))
    deliver(maildir, email(attachments=[("request.docx", DOCX, incomplete)]))
    Worker(app).run_once()
    (first,) = outbox.glob("*.eml")
    ack: EmailMessage = message_from_bytes(first.read_bytes(), policy=default)
    unmapped = word_form(new_request(1), version="2019.3", names={})
    reply = email(
        subject="RE: " + str(ack["Subject"]),
        attachments=[("corrected.docx", DOCX, unmapped)],
        headers={"In-Reply-To": str(ack["Message-ID"])},
    )
    deliver(maildir, reply)
    Worker(app).run_once()
    (second,) = [p for p in outbox.glob("*.eml") if p != first]
    answer: EmailMessage = message_from_bytes(second.read_bytes(), policy=default)
    body = answer.get_body(("plain",))
    assert body is not None
    text = " ".join(str(body.get_content()).split())
    assert "[LR-000001]" in str(answer["Subject"])
    assert '"corrected.docx" is on version 2019.3' in text
    assert "as an attachment to a reply to this email" in text and "new email" not in text
    assert _attached(answer) == sorted(FORMS)
    with app.store.unit() as unit:
        assert len(unit.requests.matching()) == 1
