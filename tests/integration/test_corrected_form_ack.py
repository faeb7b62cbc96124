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
    return [message_from_bytes(p.read_bytes(), policy=default) for p in files]  # type: ignore[misc]


def _text(msg: EmailMessage) -> str:
    body = msg.get_body(("plain",))
    assert body is not None
    return str(body.get_content())  # type: ignore[attr-defined]


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
