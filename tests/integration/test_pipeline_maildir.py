"""The embedded defaults end to end: Maildir → requests → .eml replies (SQLite, PostgreSQL)."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default
from pathlib import Path

from intake_bot.bootstrap import App
from intake_bot.mail.maildir import deliver
from intake_bot.samples import DOCX, SUBJECT, demo_messages, docx_form, email, new_request
from intake_bot.worker import Worker


def _maildir(app: App) -> Path:
    return Path(app.settings.mailbox.url.split(":", 1)[1])


def _outbox(app: App) -> list[Path]:
    return sorted(Path(app.settings.outgoing.url.split(":", 1)[1]).glob("*.eml"))


def test_demo_set_is_filed_triaged_and_answered(app: App) -> None:
    for _what, raw in demo_messages():
        deliver(_maildir(app), raw)
    poll, send = Worker(app).run_once()
    assert poll is not None and send is not None
    assert poll.examined == 6
    assert poll.not_ours == 1  # the lunch email
    assert poll.outcomes == {"filed": 3, "enquiry": 1, "automated": 1}
    assert len(poll.references) == 5  # one + three bulk + one with mistakes
    queues = {i.queue for i in app.queues.items().items}
    assert {
        "north/new",
        "midlands-and-east/new",
        "london/new",
        "south/incomplete",
        "enquiries",
    } <= queues
    replies = [message_from_bytes(p.read_bytes(), policy=default) for p in _outbox(app)]
    assert send.sent == len(replies) == 6  # 5 acknowledgements + 1 how-to; none to the auto-reply
    subjects = sorted(str(r["Subject"]) for r in replies)
    assert sum(s.startswith("[LR-") and "Request received" in s for s in subjects) == 4
    assert sum("Action needed" in s for s in subjects) == 1
    assert all(r["Auto-Submitted"] == "auto-replied" for r in replies)
    assert all(r["In-Reply-To"] for r in replies)
    # The lunch email is left where it was, unread; the others are moved to the processed folder.
    assert len(list((_maildir(app) / "cur").iterdir())) == 1
    assert (
        len(list((_maildir(app) / ".Processed" / "cur").iterdir()))
        + len(list((_maildir(app) / ".Processed" / "new").iterdir()))
        == 5
    )


def test_problems_are_listed_in_one_reply_naming_field_value_and_expectation(app: App) -> None:
    bad = new_request(1, contract_signed_date="31/13/2016", commissioner_ods="TOO-LONG-1")
    deliver(_maildir(app), email(attachments=[("form.docx", DOCX, docx_form(bad))]))
    Worker(app).run_once()
    (reply,) = [message_from_bytes(p.read_bytes(), policy=default) for p in _outbox(app)]
    text = reply.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Date the contract was signed" in text and '"31/13/2016"' in text
    assert "Commissioning organisation ODS code" in text and '"TOO-LONG-1"' in text
    assert "Action needed: 2 problems" in str(reply["Subject"])


def test_a_second_cycle_files_and_sends_nothing_new(app: App) -> None:
    deliver(_maildir(app), email(attachments=[("form.docx", DOCX, docx_form(new_request()))]))
    worker = Worker(app)
    first, _ = worker.run_once()
    second, send = worker.run_once()
    assert first is not None and first.filed == 1
    assert second is not None and second.examined == 0 and second.filed == 0
    assert send is not None and send.sent == 0
    assert len(_outbox(app)) == 1


def test_subject_variants_are_ours_and_other_subjects_are_left_alone(app: App) -> None:
    form = [("form.docx", DOCX, docx_form(new_request()))]
    for subject in (
        "RE: FW: " + SUBJECT.upper(),
        SUBJECT.replace("-", "—"),
        "Quarterly newsletter",
    ):
        deliver(_maildir(app), email(subject=subject, attachments=form))
    poll, _ = Worker(app).run_once()
    assert poll is not None and poll.not_ours == 1 and poll.filed == 2


def test_dmarc_failure_at_our_server_sends_a_request_to_verification(tmp_path: Path) -> None:
    from intake_bot.bootstrap import build, load_reference_data
    from intake_bot.store import migrate
    from tests.conftest import FrozenClock, make_settings, sql_store

    settings = make_settings(
        tmp_path,
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        senders={"authserv_id": "mx.dsfc.example", "require_dmarc_pass": "true"},
    )
    app = build(settings, clock=FrozenClock())
    migrate.upgrade(sql_store(app))
    load_reference_data(app)
    form = [("form.docx", DOCX, docx_form(new_request()))]
    verdicts = {"pass": "triaged", "fail": "verification"}
    for verdict in verdicts:
        header = {"Authentication-Results": f"mx.dsfc.example; dmarc={verdict} header.from=nhs.net"}
        deliver(_maildir(app), email(attachments=form, headers=header))
    Worker(app).run_once()
    with app.store.unit() as unit:
        statuses = sorted(r.status for r in unit.requests.matching())
    assert statuses == sorted(verdicts.values())
