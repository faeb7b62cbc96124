"""A party's correction of an incomplete request on a form version no config/forms/ file maps,
through the real pipeline (Maildir in, the real templates, `.eml` files out): the sender is
told the request still waits, and the email waits in the quarantine queue for staff, as a new
email on such a version does; released once a file maps the version, it corrects the request."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest

from intake_bot.bootstrap import App, build, load_reference_data
from intake_bot.domain.status import Status
from intake_bot.domain.workflow import MessageError
from intake_bot.mail.maildir import deliver
from intake_bot.samples import DOCX, body_form, docx_form, email, new_request
from intake_bot.store import migrate
from intake_bot.store.store import Store
from intake_bot.worker import Worker
from tests.conftest import REPO, FrozenClock, make_settings, sql_store
from tests.old_forms import word_form


def _folders(app: App) -> tuple[Path, Path]:
    maildir = Path(app.settings.mailbox.url.split(":", 1)[1])
    outbox = Path(app.settings.outgoing.url.split(":", 1)[1])
    return maildir, outbox


def _text(path: Path) -> tuple[str, EmailMessage]:
    msg: EmailMessage = message_from_bytes(path.read_bytes(), policy=default)
    body = msg.get_body(("plain",))
    assert body is not None
    return " ".join(str(body.get_content()).split()), msg


def _reply_to_incomplete(
    app: App, *, body: str = "See attached.\n", files: Sequence[tuple[str, str, bytes]] = ()
) -> tuple[str, EmailMessage]:
    """File an incomplete request, then reply to its acknowledgement with `body` and `files`;
    the text of the answer to that reply, and the answer."""
    maildir, outbox = _folders(app)
    incomplete = docx_form(new_request(1, contract_signed_date="31/13/2016"))
    deliver(maildir, email(attachments=[("request.docx", DOCX, incomplete)]))
    Worker(app).run_once()
    (first,) = outbox.glob("*.eml")
    _, ack = _text(first)
    subject, headers = "RE: " + str(ack["Subject"]), {"In-Reply-To": str(ack["Message-ID"])}
    deliver(maildir, email(subject=subject, body=body, attachments=files, headers=headers))
    Worker(app).run_once()
    (second,) = [p for p in outbox.glob("*.eml") if p != first]
    return _text(second)


def _correct_on(app: App, version: str) -> str:
    """File an incomplete request, then reply to its acknowledgement with a form on
    `version`; the text of the answer to that reply."""
    corrected = word_form(new_request(1), version=version, names={})
    text, answer = _reply_to_incomplete(app, files=[("corrected.docx", DOCX, corrected)])
    assert "[LR-000001]" in str(answer["Subject"])
    return text


@pytest.mark.parametrize(
    ("version", "asked"),
    [
        ("2031.1", "Our staff will read the form you sent and reply to you"),
        ("2019.3", "Please copy your corrections into the blank request form attached"),
    ],
)
def test_the_sender_is_told_the_request_still_waits_and_staff_find_the_email(
    app: App, version: str, asked: str
) -> None:
    text = _correct_on(app, version)

    assert "Your request LR-000001 has not changed" in text
    assert asked in text
    assert "nothing more you need to do" not in text
    assert "should you want it for another request" not in text
    (item,) = app.queues.items("quarantine").items
    shown = app.messages.show(item.reference)
    assert shown.awaiting_staff
    with app.store.unit() as unit:
        (request,) = unit.requests.matching()
        assert request.status == Status.INCOMPLETE.value
        flags = " ".join(f["message"] for f in request.flags)
    assert f"version {version}" in flags and "quarantine queue" in flags


def test_released_once_a_file_maps_the_version_it_corrects_the_request(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    forms = tmp_path / "forms"
    shutil.copytree(REPO / "config/forms", forms)
    settings = make_settings(tmp_path, database_url, paths={"forms": forms})
    app = build(settings, clock=clock, store=Store.from_url(database_url))
    migrate.upgrade(sql_store(app))
    load_reference_data(app)
    try:
        _correct_on(app, "2031.1")
        (item,) = app.queues.items("quarantine").items
    finally:
        sql_store(app).dispose()
    # The operator adds the version's file; the next process reads it.
    (forms / "2031.1.toml").write_text('version = "2031.1"\n', encoding="utf-8")
    again = build(settings, clock=clock, store=Store.from_url(database_url))
    try:
        released = again.messages.release(item.reference, actor="staff")

        assert released.requests == ("LR-000001",)
        assert not again.queues.items("quarantine").items
        with again.store.unit() as unit:
            (request,) = unit.requests.matching()
            assert request.status != Status.INCOMPLETE.value
            assert request.values["contract_signed_date"] != "31/13/2016"
    finally:
        sql_store(again).dispose()


def test_the_flag_says_what_happened_and_a_release_before_the_file_exists_is_refused(
    app: App,
) -> None:
    _correct_on(app, "2019.3")
    _, outbox = _folders(app)
    (item,) = app.queues.items("quarantine").items
    with app.store.unit() as unit:
        (request,) = unit.requests.matching()
        flags = " ".join(f["message"] for f in request.flags)
    assert f"the email was put in the quarantine queue as {item.reference}" in flags

    with pytest.raises(MessageError, match="still holds a form on a version no config/forms/"):
        app.messages.release(item.reference, actor="staff")

    assert len(list(outbox.glob("*.eml"))) == 2  # the acknowledgement and the cannot-read reply
    (still,) = app.queues.items("quarantine").items
    assert still.reference == item.reference


def test_a_reply_typing_the_form_on_a_version_not_read_is_held_not_applied(app: App) -> None:
    """The body's `Form version:` row is a declared version like a file's: one no file maps is
    not read, so its answers are not laid over the request's."""
    typed = "Form version: 2023.1\n" + body_form(new_request(1)) + "\nKind regards\n"

    text, answer = _reply_to_incomplete(app, body=typed)

    assert "We could not read your form" in str(answer["Subject"])
    assert "Your request LR-000001 has not changed" in text
    with app.store.unit() as unit:
        (request,) = unit.requests.matching()
        assert request.status == Status.INCOMPLETE.value
        assert request.values.get("contract_signed_date") in ("31/13/2016", None, "")
        flags = " ".join(f["message"] for f in request.flags)
    assert "the form typed in the email" in flags and "this email's text" in flags
    assert app.queues.items("quarantine").items
