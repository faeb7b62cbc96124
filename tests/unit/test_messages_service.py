"""Enquiries and quarantine on the fakes: show, answer, link, close and release a message."""

from __future__ import annotations

import pytest

from intake_bot.domain.records import InboundMessage, Request
from intake_bot.domain.workflow import MessageError, UnknownMessageError
from intake_bot.ports import MessageRef
from intake_bot.samples import DOCX, docx_form, email, new_request
from intake_bot.services.messages import sanitise
from tests.fakes.workflow import Staff, make_staff

ENQUIRY = email(
    sender="pat.jones@nhs.net",
    subject="Question about relationships",
    body="Hello,\n\nHow do I ask for a relationship?\x1b[31m\n\nPat\n",
)


def _enquiry(staff: Staff, raw: bytes = ENQUIRY) -> str:
    result = staff.rig.ingest(raw)
    assert result.inbound_id is not None
    return f"MSG-{result.inbound_id}"


def _quarantined(staff: Staff, raw: bytes) -> str:
    inbound_id = staff.rig.intake.quarantine(raw, MessageRef("enquiries", "99"), "crashed 3 times")
    assert inbound_id is not None
    return f"msg-{inbound_id}"


def test_show_gives_headers_plain_text_attachments_and_what_the_bot_made_of_it() -> None:
    staff = make_staff()
    ref = _enquiry(staff)
    shown = staff.messages.show(ref)
    assert (shown.reference, shown.outcome, shown.queue, shown.awaiting_staff) == (
        "MSG-1",
        "enquiry",
        "enquiries",
        True,
    )
    assert shown.sender == "pat.jones@nhs.net" and shown.subject == "Question about relationships"
    assert "How do I ask for a relationship?" in shown.body
    assert "\x1b" not in shown.body  # no terminal escapes from a sender
    assert shown.unreadable == "" and shown.attachments == ()
    assert [e.action for e in shown.events] == ["received"]
    assert [o.kind for o in shown.emails_out] == ["no_form"]
    assert staff.messages.show("1") == shown


def test_show_of_an_email_that_cannot_be_read_says_why() -> None:
    staff = make_staff()
    ref = _quarantined(staff, b"\x00\x01 not an email")
    shown = staff.messages.show(ref)
    assert shown.queue == "quarantine" and shown.body == "" and shown.unreadable


def test_sanitise_keeps_text_and_drops_control_and_direction_characters() -> None:
    assert sanitise("a\r\nb\tc\x07\u202ed") == "a\nb\tcd"


def test_answer_emails_the_sender_threaded_on_their_message_and_records_it() -> None:
    staff = make_staff()
    ref = _enquiry(staff)
    done = staff.messages.answer(ref, actor="Sam", text="Please use the form.\n\nThanks")
    (row,) = staff.outbox("staff_answer")
    assert done.to == "pat.jones@nhs.net" and row.recipients == ["pat.jones@nhs.net"]
    (inbound,) = staff.rig.store.memory.all(InboundMessage)
    letter = staff.rig.composer.letters[-1]
    assert letter.in_reply_to == inbound.message_id
    assert letter.references == (inbound.message_id,)
    assert letter.auto_submitted == "no"  # a person wrote it
    context = staff.contexts("staff_answer")[-1]
    assert context["paragraphs"] == ["Please use the form.", "Thanks"]
    assert context["subject_prefix"] == "Re: "
    (event,) = staff.events("answer")
    assert (event.actor, event.inbound_id, event.outbox_id) == ("Sam", inbound.id, row.id)
    assert staff.messages.show(ref).awaiting_staff  # answering does not close it


def test_a_prepared_answer_by_name_and_the_blank_forms() -> None:
    staff = make_staff()
    ref = _enquiry(staff)
    staff.messages.answer(ref, actor="Sam", template="send-form")
    assert staff.outbox("answer_send_form")
    assert len(staff.rig.composer.letters[-1].attachments) == 2
    with pytest.raises(MessageError, match="not_ours, send_form"):
        staff.messages.answer(ref, actor="Sam", template="rude")
    with pytest.raises(MessageError, match="either"):
        staff.messages.answer(ref, actor="Sam")
    with pytest.raises(MessageError, match="either"):
        staff.messages.answer(ref, actor="Sam", template="not_ours", text="hi")


def test_link_makes_the_message_correspondence_of_a_request_and_it_leaves_the_queue() -> None:
    staff = make_staff()
    lr = staff.file(0)
    ref = _enquiry(staff)
    done = staff.messages.link(ref, lr.lower(), actor="Sam")
    assert (done.request, done.queue_before) == (lr, "enquiries")
    assert staff.queues.items("enquiries").items == ()
    shown = staff.requests.show(lr)
    assert [e.reference for e in shown.emails_in] == ["MSG-1", ref]
    (event,) = staff.events("link")
    assert (event.from_status, event.to_status, event.actor) == ("enquiry", "reply", "Sam")
    with pytest.raises(MessageError, match="not awaiting staff"):
        staff.messages.link(ref, lr, actor="Sam")
    with pytest.raises(MessageError, match="no request"):
        staff.messages.link(_enquiry(staff, email(body="Another\n")), "LR-9", actor="Sam")


def test_close_needs_a_reason_and_takes_the_message_out_of_its_queue() -> None:
    staff = make_staff()
    ref = _enquiry(staff)
    with pytest.raises(MessageError, match="--note"):
        staff.messages.close(ref, actor="Sam", note="")
    done = staff.messages.close(ref, actor="Sam", note="answered by phone")
    assert done.queue_before == "enquiries" and staff.queues.items().items == ()
    assert staff.events("close")[0].note == "answered by phone"
    with pytest.raises(UnknownMessageError):
        staff.messages.close("MSG-42", actor="Sam", note="x")


def test_release_files_a_quarantined_message_again_and_links_the_outcome() -> None:
    staff = make_staff()
    form = email(attachments=[("form.docx", DOCX, docx_form(new_request(0)))])
    ref = _quarantined(staff, form)  # e.g. it crashed intake until a fix was deployed
    done = staff.messages.release(ref, actor="Sam")
    assert (done.reference, done.outcome, done.result, done.requests) == (
        "MSG-1",
        "filed",
        "MSG-2",
        ("LR-000001",),
    )
    old, new = staff.rig.store.memory.all(InboundMessage)
    assert old.queue is None and old.request_id == 1
    assert new.outcome == "filed" and (new.mailbox, new.location) == ("released", "MSG-1")
    (request,) = staff.rig.store.memory.all(Request)
    assert request.status == "triaged"
    (release,) = staff.events("release")
    assert release.actor == "Sam" and "MSG-2" in release.note and "LR-000001" in release.note
    assert staff.outbox("ack_valid")  # the sender hears about it at last
    with pytest.raises(MessageError, match="not awaiting staff"):
        staff.messages.release(ref, actor="Sam")


def test_only_a_quarantined_message_can_be_released() -> None:
    staff = make_staff()
    ref = _enquiry(staff)
    with pytest.raises(MessageError, match="not in quarantine"):
        staff.messages.release(ref, actor="Sam")


def test_a_release_that_fails_again_leaves_the_message_in_quarantine() -> None:
    staff = make_staff()
    ref = _quarantined(staff, ENQUIRY)

    def broken(raw: bytes, where: MessageRef, **options: object) -> object:
        raise RuntimeError("still broken")

    staff.messages.reingest = broken  # type: ignore[assignment]
    with pytest.raises(MessageError, match="still broken"):
        staff.messages.release(ref, actor="Sam")
    (message,) = staff.rig.store.memory.all(InboundMessage)
    assert message.queue == "quarantine" and not message.dedupe_key.startswith("released")


def test_a_patient_data_hold_is_released_only_when_staff_say_the_number_is_not_one() -> None:
    staff = make_staff()
    # Ten digits that pass the NHS number check but are the commissioner's contract reference.
    values = new_request(0, contract_reference="9434765919")
    result = staff.rig.ingest(email(attachments=[("form.docx", DOCX, docx_form(values))]))
    ref = f"MSG-{result.inbound_id}"
    with pytest.raises(MessageError, match="--not-patient-data") as refused:
        staff.messages.release(ref, actor="Sam")
    assert "9434765919" not in str(refused.value)
    assert staff.rig.store.memory.all(Request) == []  # still held, nothing filed
    done = staff.messages.release(ref, actor="Sam", not_patient_data=True)
    assert done.outcome == "filed" and done.requests == ("LR-000001",)
    (release,) = staff.events("release")
    assert release.actor == "Sam" and "Sam confirmed it holds no NHS number" in release.note
