"""The acknowledgement of a corrected form names the corrected file, not the first one (the
real templates, SQLite and PostgreSQL, Maildir in and `.eml` files out)."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from intake_bot.bootstrap import App
from intake_bot.mail.maildir import deliver
from intake_bot.samples import DOCX, docx_form, email, new_request
from intake_bot.worker import Worker


def _sent(app: App) -> list[EmailMessage]:
    folder = Path(app.settings.outgoing.url.split(":", 1)[1])
    files = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    return [message_from_bytes(p.read_bytes(), policy=default) for p in files]


def _text(msg: EmailMessage) -> str:
    body = msg.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def test_the_ack_of_a_corrected_form_names_the_corrected_file(app: App) -> None:
    maildir = Path(app.settings.mailbox.url.split(":", 1)[1])
    bad = new_request(1, contract_signed_date="31/13/2016")
    deliver(maildir, email(attachments=[("first-try.docx", DOCX, docx_form(bad))]))
    Worker(app).run_once()
    (first_ack,) = _sent(app)
    assert "first-try.docx" in _text(first_ack)

    fixed = email(
        subject="RE: " + str(first_ack["Subject"]),
        attachments=[("corrected.docx", DOCX, docx_form(new_request(1)))],
        headers={"In-Reply-To": str(first_ack["Message-ID"])},
    )
    deliver(maildir, fixed)
    Worker(app).run_once()
    second_ack = next(m for m in _sent(app) if m["Message-ID"] != first_ack["Message-ID"])
    assert "[LR-000001] Request received" in str(second_ack["Subject"])
    assert "corrected.docx" in _text(second_ack) and "first-try.docx" not in _text(second_ack)
    with app.store.unit() as unit:
        request = unit.requests.get(1)
        assert request is not None and request.source == "corrected.docx"


def test_a_form_sent_after_the_request_left_correction_is_answered_not_applied(
    app: App,
) -> None:
    """A party's form in reply to a request staff already hold, or have decided, changes
    nothing; the sender is told so (at the address recorded for the request), and what to do
    instead: not silence."""
    from intake_bot.domain.status import Status

    maildir = Path(app.settings.mailbox.url.split(":", 1)[1])
    deliver(maildir, email(attachments=[("request.docx", DOCX, docx_form(new_request(1)))]))
    Worker(app).run_once()
    (ack,) = _sent(app)
    seen = {ack["Message-ID"]}

    def reply_with_form() -> EmailMessage:
        changed = docx_form(new_request(1, datasets="SUS; HES"))
        deliver(
            maildir,
            email(
                subject="RE: " + str(ack["Subject"]),
                attachments=[("again.docx", DOCX, changed)],
                headers={"In-Reply-To": str(ack["Message-ID"])},
            ),
        )
        Worker(app).run_once()
        new = [m for m in _sent(app) if m["Message-ID"] not in seen]
        assert len(new) == 1, [str(m["Subject"]) for m in new]
        (answer,) = new
        seen.add(answer["Message-ID"])
        return answer

    waiting = reply_with_form()
    assert "[LR-000001] Your form was not applied" in str(waiting["Subject"])
    assert str(waiting["To"]) == "aisha.khan@nhs.net"
    text = " ".join(_text(waiting).split())
    assert 'its status is "Waiting for review"' in text and "have been told of your email" in text
    app.requests.change_status("LR-000001", Status.IN_REVIEW, actor="jo")
    app.requests.change_status("LR-000001", Status.APPROVED, actor="jo")
    Worker(app).run_once()  # sends the status emails
    seen |= {m["Message-ID"] for m in _sent(app)}
    decided = " ".join(_text(reply_with_form()).split())
    assert 'its status is "Approved"' in decided and "send a change or end request" in decided
    with app.store.unit() as unit:
        request = unit.requests.get(1)
        assert request is not None and request.source == "request.docx"  # nothing applied
        assert "SUS; HES" not in str(request.values)
