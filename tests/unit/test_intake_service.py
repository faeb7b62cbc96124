"""The intake use case on the in-memory fakes: what each kind of email files, queues and answers.

No server and no templates: the store is `FakeStore`, the renderer and the composer keep what
they were given, so a test reads the acknowledgement's context instead of a MIME message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict, Unpack

import pytest

from intake_bot.domain.outgoing import FileToAttach
from intake_bot.domain.records import Attachment, Event, InboundMessage, Request
from intake_bot.ports import MessageRef
from intake_bot.samples import DOCX, body_form, docx_form, email, new_request
from intake_bot.services.classify import Kind
from tests.fakes.intake import OUR_ADDRESS, Rig, make_rig


def _form_email(values: dict[str, str], filename: str = "form.docx", **options: object) -> bytes:
    return email(attachments=[(filename, DOCX, docx_form(values))], **options)  # type: ignore[arg-type]


def _actions(rig: object) -> list[str]:
    return [e.action for e in rig.store.memory.all(Event)]  # type: ignore[attr-defined]


def test_a_valid_form_is_filed_triaged_and_acknowledged_in_one_unit() -> None:
    rig = make_rig()
    result = rig.ingest(_form_email(new_request(0)))
    assert (
        result.outcome is Kind.FILED and result.references == ("LR-000001",) and result.replies == 1
    )
    (request,) = rig.store.memory.all(Request)
    assert request.status == "triaged" and request.queue == "north/new"
    assert request.source == "form.docx" and request.problems == []
    assert request.due_on is not None  # ten working days
    (inbound,) = rig.store.memory.all(InboundMessage)
    assert inbound.outcome == "filed" and inbound.request_id == request.id
    (attachment,) = rig.store.memory.all(Attachment)
    assert attachment.outcome == "form" and attachment.inbound_id == inbound.id
    (ack,) = rig.outbox()
    assert ack.kind == "ack_valid" and ack.recipients == ["aisha.khan@nhs.net"]
    assert ack.request_id == request.id and ack.status == "pending"
    assert _actions(rig) == ["received", "status"]
    (letter,) = rig.composer.letters
    assert letter.in_reply_to == inbound.message_id  # threaded on the sender's email


def test_a_form_with_problems_waits_as_incomplete_and_the_reply_lists_every_problem() -> None:
    rig = make_rig()
    bad = new_request(1, contract_signed_date="31/13/2016", commissioner_ods="TOO-LONG-1")
    result = rig.ingest(_form_email(bad))
    assert result.outcome is Kind.FILED
    (request,) = rig.store.memory.all(Request)
    assert request.status == "incomplete" and request.queue == "north/incomplete"
    assert {p["field"] for p in request.problems} == {"contract_signed_date", "commissioner_ods"}
    (ack,) = rig.outbox()
    assert ack.kind == "ack_problems"
    (context,) = rig.contexts("ack_problems")
    assert context["request"]["problems"] == [p["message"] for p in request.problems]  # type: ignore[index]


def test_an_email_without_a_form_is_an_enquiry_answered_with_the_blank_forms() -> None:
    rig = make_rig()
    result = rig.ingest(email(body="Hello, how do I ask for a relationship?\n"))
    assert result.outcome is Kind.ENQUIRY and result.references == ()
    (inbound,) = rig.store.memory.all(InboundMessage)
    assert inbound.queue == "enquiries" and inbound.request_id is None
    assert rig.store.memory.all(Request) == []
    (reply,) = rig.outbox()
    assert reply.kind == "no_form"
    (letter,) = rig.composer.letters
    assert [a.filename for a in letter.attachments] == [
        "legitimate-relationship-request.docx",
        "legitimate-relationship-request.xlsx",
    ]


def test_a_form_typed_into_the_body_is_filed_like_an_attached_one() -> None:
    rig = make_rig()
    result = rig.ingest(email(body=body_form(new_request(2))))
    assert result.outcome is Kind.FILED
    (request,) = rig.store.memory.all(Request)
    assert request.status == "triaged" and request.attachment_id is None


def test_an_automatic_reply_is_archived_and_never_answered() -> None:
    rig = make_rig()
    out_of_office = email(
        subject="Automatic reply: Data Services for Commissioners - Legitimate Relationships",
        headers={"Auto-Submitted": "auto-replied"},
        attachments=[("form.docx", DOCX, docx_form(new_request(0)))],
    )
    result = rig.ingest(out_of_office)
    assert result.outcome is Kind.AUTOMATED and result.replies == 0
    assert rig.outbox() == [] and rig.store.memory.all(Request) == []
    assert rig.store.memory.all(Attachment) == []  # a robot's mail is not read
    assert _actions(rig) == ["ignored_automated"]


def test_our_own_mail_coming_back_is_automated() -> None:
    rig = make_rig()
    result = rig.ingest(email(sender=OUR_ADDRESS, body="loop"))
    assert result.outcome is Kind.AUTOMATED and rig.outbox() == []


def test_the_same_email_twice_is_filed_once() -> None:
    rig = make_rig()
    raw = _form_email(new_request(0))
    first = rig.ingest(raw)
    again = rig.ingest(raw)  # a copy at another place: same Message-ID
    assert first.outcome is Kind.FILED
    assert again.outcome is Kind.DUPLICATE and again.inbound_id == first.inbound_id
    assert len(rig.store.memory.all(Request)) == 1 and len(rig.outbox()) == 1


def test_a_corrected_form_in_a_reply_completes_the_request_and_its_ack_names_the_new_file() -> None:
    rig = make_rig()
    rig.ingest(_form_email(new_request(1, contract_signed_date="31/13/2016"), "first.docx"))
    (first_ack,) = rig.outbox()
    fixed = _form_email(
        new_request(1),
        "fixed.docx",
        subject="RE: [LR-000001] Action needed",
        headers={"In-Reply-To": first_ack.message_id, "References": first_ack.message_id},
    )
    result = rig.ingest(fixed)
    assert result.outcome is Kind.REPLY and result.references == ("LR-000001",)
    (request,) = rig.store.memory.all(Request)  # no second request
    assert request.status == "triaged" and request.problems == []
    assert request.source == "fixed.docx"
    second = rig.store.memory.all(InboundMessage)[1]
    assert second.outcome == "reply" and second.request_id == request.id
    ack_valid = rig.contexts("ack_valid")
    assert [c["request"]["source"] for c in ack_valid] == ["fixed.docx"]  # type: ignore[index]
    assert "form_replaced" in _actions(rig)
    statuses = [(e.from_status, e.to_status) for e in rig.store.memory.all(Event) if e.to_status]
    assert statuses == [("received", "incomplete"), ("incomplete", "triaged")]


def test_answers_typed_into_a_reply_correct_only_the_fields_they_name() -> None:
    rig = make_rig()
    wrong = {"contract_signed_date": "31/13/2016", "processor_name": "Wrong Processor Ltd"}
    rig.ingest(_form_email(new_request(1, **wrong), "first.docx"))
    (first_ack,) = rig.outbox()
    (before,) = rig.store.memory.all(Request)
    answers = dict(before.values)
    right = new_request(1)
    typed = {k: right[k] for k in ("contract_signed_date", "processor_name", "requester_email")}
    result = rig.ingest(
        email(
            body="Sorry, corrected below.\n\n" + body_form(typed),
            subject="RE: [LR-000001] Action needed",
            headers={"In-Reply-To": first_ack.message_id},
        )
    )
    assert result.outcome is Kind.REPLY and result.references == ("LR-000001",)
    (request,) = rig.store.memory.all(Request)
    assert request.status == "triaged" and request.problems == []
    assert request.values["processor_name"] == right["processor_name"]
    assert request.values["contract_signed_date"] == "2016-03-15"
    untouched = {k: v for k, v in answers.items() if k not in typed}
    assert {k: request.values[k] for k in untouched} == untouched  # the rest kept, not lost
    assert request.source == "first.docx and answers typed in a reply"


def test_a_reply_typing_a_field_left_out_still_lists_what_remains_wrong() -> None:
    rig = make_rig()
    two_wrong = new_request(1, contract_signed_date="31/13/2016", commissioner_ods="TOO-LONG-1")
    rig.ingest(_form_email(two_wrong, "first.docx"))
    (first_ack,) = rig.outbox()
    right = new_request(1)
    typed = {k: right[k] for k in ("contract_signed_date", "processor_name", "requester_email")}
    rig.ingest(
        email(
            body=body_form(typed),
            subject="RE: [LR-000001] Action needed",
            headers={"In-Reply-To": first_ack.message_id},
        )
    )
    (request,) = rig.store.memory.all(Request)
    assert request.status == "incomplete"
    assert [p["field"] for p in request.problems] == ["commissioner_ods"]


def _one_line_reply(first_ack_id: str, sender: str = "aisha.khan@nhs.net") -> bytes:
    """Outlook's reply: one corrected line, the signature, then our email quoted unmarked."""
    body = (
        "Contract signed date: 15/03/2016\n\nKind regards\nAisha\nTel: 0113 000 0000\n\n"
        "________________________________\nFrom: DSfC <enquiries@example.nhs.uk>\n"
        "Sent: 01 March 2016 09:00\nSubject: [LR-000001] Action needed\n\n"
        '  1. Contract signed date: we found "31/13/2016", expected a date.\n'
        "Processor name: Someone Else Ltd\nCommissioner ODS code: 99X\n"
    )
    return email(
        body=body,
        sender=sender,
        subject="RE: [LR-000001] Action needed",
        headers={"In-Reply-To": first_ack_id},
    )


def test_one_corrected_line_typed_in_a_reply_completes_the_request() -> None:
    rig = make_rig()
    rig.ingest(_form_email(new_request(1, contract_signed_date="31/13/2016"), "first.docx"))
    (first_ack,) = rig.outbox()
    (before,) = rig.store.memory.all(Request)
    answers = dict(before.values)
    result = rig.ingest(_one_line_reply(first_ack.message_id))
    assert result.outcome is Kind.REPLY and result.replies == 1
    (request,) = rig.store.memory.all(Request)
    assert request.status == "triaged" and request.problems == []
    assert request.values["contract_signed_date"] == "2016-03-15"
    assert {k: request.values[k] for k in answers} == answers  # nothing read from the quote
    assert [o.kind for o in rig.outbox()] == ["ack_problems", "ack_valid"]


def test_one_typed_line_from_a_stranger_or_to_a_settled_request_changes_nothing() -> None:
    rig = make_rig()
    rig.ingest(_form_email(new_request(1, contract_signed_date="31/13/2016"), "first.docx"))
    (first_ack,) = rig.outbox()
    rig.ingest(_one_line_reply(first_ack.message_id, sender="mallory@nhs.net"))
    (request,) = rig.store.memory.all(Request)
    assert request.status == "incomplete" and "contract_signed_date" not in request.values
    assert any("mallory@nhs.net" in f["message"] for f in request.flags)

    settled = make_rig()
    settled.ingest(_form_email(new_request(1), "first.docx"))
    (ack,) = settled.outbox()
    settled.ingest(_one_line_reply(ack.message_id))
    (request,) = settled.store.memory.all(Request)
    assert request.status == "triaged" and len(settled.outbox()) == 1  # attached, not answered
    assert "form_not_applied" not in _actions(settled)


def _incomplete(rig: Rig) -> str:
    """A request filed incomplete (its signing date wrong); our email's Message-ID."""
    rig.ingest(_form_email(new_request(1, contract_signed_date="31/13/2016"), "first.docx"))
    (ack,) = rig.outbox()
    return str(ack.message_id)


class _ReplyOptions(TypedDict, total=False):
    sender: str
    sender_name: str
    attachments: Sequence[tuple[str, str, bytes]]


def _reply(ack_id: str, body: str, **options: Unpack[_ReplyOptions]) -> bytes:
    return email(
        body=body,
        subject="RE: [LR-000001] Action needed",
        headers={"In-Reply-To": ack_id},
        **options,
    )


OUR_LIST_FORWARDED = (
    "Helen, can you sort this out?\n\n---------- Forwarded message ---------\n"
    "From: DSfC <dsfc.enquiries@intake-bot.invalid>\nDate: Tue, 1 Mar 2016\n"
    "Subject: [LR-000001] Action needed\n\n"
    '  1. Date the contract was signed: we found "31/13/2016", expected a date.\n'
    "  2. Data processor: this is missing; expected the name of the data processor.\n"
)


@pytest.mark.parametrize(
    "body",
    [
        OUR_LIST_FORWARDED,  # our own list of problems, forwarded: never an answer
        "Type: I'll send the corrected form on Monday\nThanks\n",  # "Type" is a loose alias
        "Data processor - not sure yet, asking the CSU\n",  # " - " in prose
        "Thanks, will do.\n\nKind regards\nAisha\nTel: 0113 000 0000\n",
    ],
)
def test_a_partys_reply_that_holds_no_answer_changes_nothing_and_is_flagged(body: str) -> None:
    rig = make_rig()
    ack_id = _incomplete(rig)
    (before,) = rig.store.memory.all(Request)
    answers = dict(before.values)
    rig.ingest(_reply(ack_id, body))
    (request,) = rig.store.memory.all(Request)
    assert request.status == "incomplete" and request.values == answers
    assert len(rig.outbox()) == 1  # not answered: staff read it
    assert any("with no form nor answers read: read it" in f["message"] for f in request.flags)


def test_a_correction_beside_a_file_that_is_no_form_is_applied_and_the_file_named() -> None:
    rig = make_rig()
    ack_id = _incomplete(rig)
    contract = ("signed-contract.pdf", "application/pdf", b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n")
    body = "Thank you for your email.\n\nContract signed date: 15/03/2016\n\nKind regards\n"
    rig.ingest(_reply(ack_id, body, attachments=[contract]))
    (request,) = rig.store.memory.all(Request)
    assert request.status == "triaged"
    (context,) = rig.contexts("ack_valid")
    assert [f["filename"] for f in context["rejected_files"]] == ["signed-contract.pdf"]  # type: ignore[attr-defined]


def test_an_authorisers_signature_under_a_correction_changes_no_contact_detail() -> None:
    rig = make_rig()
    ack_id = _incomplete(rig)
    (before,) = rig.store.memory.all(Request)
    body = (
        "Contract signed date: 15/03/2016\nData processor: Midlands and Lancashire CSU\n"
        "Commissioning organisation ODS code: 00C\n\nKind regards\nDr Helen Morris\n"
        "Role: Caldicott Guardian\nTel: 0113 999 9999\nEmail: helen.morris@nhs.net\n"
    )
    rig.ingest(_reply(ack_id, body, sender="helen.morris@nhs.net", sender_name="Helen Morris"))
    (request,) = rig.store.memory.all(Request)
    assert request.values["contract_signed_date"] == "2016-03-15"
    for key in ("requester_phone", "requester_role", "requester_email"):
        assert request.values[key] == before.values[key], key
    assert not any("another requester" in f["message"] for f in request.flags)


def test_a_reply_from_a_stranger_is_threaded_but_flagged() -> None:
    rig = make_rig()
    rig.ingest(_form_email(new_request(0)))
    rig.ingest(email(sender="mallory@nhs.net", subject="RE: [LR-000001] Request received"))
    (request,) = rig.store.memory.all(Request)
    assert any("mallory@nhs.net" in f["message"] for f in request.flags)
    assert "flagged" in _actions(rig)


def test_an_unreadable_attachment_goes_to_quarantine_and_the_sender_is_told_why() -> None:
    rig = make_rig()
    legacy = email(attachments=[("old.doc", "application/msword", b"\xd0\xcf\x11\xe0 old word")])
    result = rig.ingest(legacy)
    assert result.outcome is Kind.UNREADABLE
    (inbound,) = rig.store.memory.all(InboundMessage)
    assert inbound.queue == "quarantine" and "old.doc" in inbound.note
    (reply,) = rig.outbox()
    assert reply.kind == "unreadable"
    (context,) = rig.contexts("unreadable")
    assert [f["filename"] for f in context["rejected_files"]] == ["old.doc"]  # type: ignore[attr-defined]


def test_bytes_that_are_no_email_are_archived_in_quarantine_and_not_answered() -> None:
    rig = make_rig()
    result = rig.ingest(b"\r\n\r\n   \r\n")
    assert result.outcome is Kind.QUARANTINED and result.move_to_quarantine
    (inbound,) = rig.store.memory.all(InboundMessage)
    assert inbound.queue == "quarantine" and inbound.raw == b"\r\n\r\n   \r\n"
    assert rig.outbox() == [] and _actions(rig) == ["quarantined"]


def test_a_message_that_failed_too_often_is_quarantined_once() -> None:
    rig = make_rig()
    raw = _form_email(new_request(0))
    ref_id = rig.intake.quarantine(raw, _ref("7"), "failed 3 times; last error: RuntimeError")
    again = rig.intake.quarantine(raw, _ref("7"), "failed 4 times")
    assert ref_id is not None and again == ref_id
    (inbound,) = rig.store.memory.all(InboundMessage)
    assert inbound.outcome == "quarantined" and "RuntimeError" in inbound.note


def test_the_rate_limit_stops_a_loop_with_another_robot() -> None:
    rig = make_rig()
    for _ in range(12):
        rig.ingest(email(body="no form, again"))
    assert len(rig.outbox()) == 10  # replies_per_sender_per_hour
    assert _actions(rig).count("reply_suppressed") == 2


def test_the_reply_limit_counts_emails_so_every_request_of_a_bulk_sheet_is_answered() -> None:
    """The limit counts the emails answered, not the replies: a sheet of 12 requests gets 12
    acknowledgements, and counts once; past the limit, every request of an email goes
    unanswered (each with its audit event), never some of them."""
    from intake_bot.samples import XLSX, xlsx_bulk

    rig = make_rig()
    sheet = xlsx_bulk([new_request(i % 4) for i in range(12)])
    bulk = email(attachments=[("bulk.xlsx", XLSX, sheet)])
    assert len(rig.ingest(bulk).references) == 12
    assert len(rig.outbox()) == 12
    for _ in range(9):
        rig.ingest(email(body="no form, again"))
    assert len(rig.outbox()) == 21 and "reply_suppressed" not in _actions(rig)  # 10 emails
    late = rig.ingest(email(attachments=[("bulk.xlsx", XLSX, sheet)]))
    assert len(late.references) == 12 and len(rig.outbox()) == 21
    assert _actions(rig).count("reply_suppressed") == 12


def _ref(key: str) -> MessageRef:
    from intake_bot.ports import MessageRef

    return MessageRef("enquiries", key)


def test_a_form_naming_no_office_goes_to_the_office_of_the_mailbox_it_came_to() -> None:
    rig = make_rig()
    values = {k: v for k, v in new_request(2).items() if k != "dscro"}
    result = rig.intake.ingest(
        _form_email(values), MessageRef("london-box", "1"), default_office="London"
    )
    assert result.outcome is Kind.FILED
    (request,) = rig.store.memory.all(Request)
    assert request.dscro == "London" and request.queue.startswith("london/")
    assert any(f["field"] == "dscro" and "London" in f["message"] for f in request.flags)


def test_without_a_default_office_a_form_naming_none_is_incomplete() -> None:
    rig = make_rig()
    values = {k: v for k, v in new_request(2).items() if k != "dscro"}
    rig.ingest(_form_email(values))
    (request,) = rig.store.memory.all(Request)
    assert request.status == "incomplete" and "dscro" in {p["field"] for p in request.problems}


def test_a_correction_delivered_again_with_other_headers_is_applied_and_answered_once() -> None:
    rig = make_rig()
    ack_id = _incomplete(rig)
    first = _reply(ack_id, "Contract signed date: 15/03/2016\n")
    again = b"Received: from relay2.example (relay2.example [192.0.2.7])\r\n" + first
    rig.ingest(first)
    rig.ingest(again)  # the same Message-ID, other bytes: a second delivery, or a forgery
    (request,) = rig.store.memory.all(Request)
    assert request.status == "triaged"
    assert [o.kind for o in rig.outbox()] == ["ack_problems", "ack_valid"]
    assert any("check that this is not a copy" in f["message"] for f in request.flags)
    assert len(rig.store.memory.all(InboundMessage)) == 3  # both kept


def test_an_acknowledgement_that_offers_no_blank_form_does_not_make_one() -> None:
    """The blank forms are made on first use (python-docx and openpyxl, ~0.1 s and their
    memory): a worker whose replies offer none never makes them."""
    from dataclasses import replace

    rig = make_rig()
    made: list[int] = []
    blanks = rig.intake.notifier.blank_forms

    def counted_blanks() -> Sequence[FileToAttach]:
        made.append(1)
        return blanks()

    rig.intake.notifier = replace(rig.intake.notifier, blank_forms=counted_blanks)
    rig.ingest(_form_email(new_request(0)))
    rig.ingest(_form_email(new_request(1, contract_signed_date="31/13/2016")))
    assert [o.kind for o in rig.outbox()] == ["ack_valid", "ack_problems"] and made == []


def test_our_acknowledgement_forwarded_back_to_a_settled_request_is_not_answered() -> None:
    """A question with our own "What we filed" list forwarded below it reads as typed answers;
    to a request past correction it is flagged, never answered "your form was not applied"
    (only an attached form is a form sent)."""
    from intake_bot.samples import body_form

    rig = make_rig()
    rig.ingest(_form_email(new_request(1), "first.docx"))
    (ack,) = rig.outbox()
    quoted = body_form(new_request(1))
    body = (
        "Hello, when will this be looked at? Thanks\n\n---------- Forwarded message ---------\n"
        f"From: DSfC <enquiries@example.nhs.uk>\nSubject: [LR-000001] Request received\n\n{quoted}"
    )
    rig.ingest(
        email(
            body=body,
            subject="Fwd: [LR-000001] Request received",
            headers={"In-Reply-To": str(ack.message_id)},
        )
    )
    assert [o.kind for o in rig.outbox()] == ["ack_valid"]
    rig.ingest(
        email(
            subject="RE: [LR-000001] Request received",
            attachments=[("again.docx", DOCX, docx_form(new_request(1)))],
            headers={"In-Reply-To": str(ack.message_id)},
        )
    )
    assert [o.kind for o in rig.outbox()] == ["ack_valid", "form_not_applied"]


def test_a_form_on_a_version_not_read_to_a_settled_request_is_answered_not_applied() -> None:
    """Not the cannot-read reply, which asks for the form again in a reply: to a request past
    correction that reply would not be applied either."""
    from tests.old_forms import word_form

    rig = make_rig()
    rig.ingest(_form_email(new_request(1), "first.docx"))
    (ack,) = rig.outbox()
    unmapped = word_form(new_request(1), version="2019.3", names={})
    rig.ingest(
        email(
            subject="RE: [LR-000001] Request received",
            attachments=[("again.docx", DOCX, unmapped)],
            headers={"In-Reply-To": str(ack.message_id)},
        )
    )
    assert [o.kind for o in rig.outbox()] == ["ack_valid", "form_not_applied"]
    (request,) = rig.store.memory.all(Request)
    [note] = [f["message"] for f in request.flags if f["message"].startswith("not read")]
    # staff are told what the sender was told: not applied, not "staff will look at it"
    assert "the sender was told their form was not applied, the request being triaged" in note
    assert "would look at it" not in note
