"""The bot never talks to a robot (issue 9, finding 8), on the in-memory fakes: every kind of
automatic mail, replies to any of our emails, the per-mailbox cap however an address is spelt,
and a bounce of an acknowledgement recorded on its request."""

from __future__ import annotations

import pytest

from intake_bot.domain.outgoing import Composed, Letter
from intake_bot.domain.records import Event, InboundMessage, Request
from intake_bot.domain.sender import canonical_address
from intake_bot.samples import DOCX, SUBJECT, docx_form, email, new_request
from intake_bot.services.classify import Kind
from tests.fakes.intake import OUR_ADDRESS, Rig, make_rig
from tests.fakes.outgoing import FakeComposer
from tests.robot_mail import ROBOTS, Build


class OurIds(FakeComposer):
    """Message-IDs as the real composer makes them: "<...intake-bot@our domain>"."""

    def compose(self, letter: Letter) -> Composed:
        made = super().compose(letter)
        n = len(self.letters)
        domain = OUR_ADDRESS.rpartition("@")[2]
        return Composed(f"<2016.{n}.intake-bot@{domain}>", made.subject, made.raw)


def _rig() -> Rig:
    rig = make_rig()
    rig.composer = rig.intake.notifier.composer = OurIds()
    return rig


def test_there_are_at_least_forty_kinds_of_robot() -> None:
    assert len(ROBOTS) >= 40
    assert len({name for name, _ in ROBOTS}) == len(ROBOTS)


@pytest.mark.parametrize(("kind", "build"), ROBOTS, ids=[name for name, _ in ROBOTS])
def test_no_kind_of_automatic_mail_is_answered(kind: str, build: Build) -> None:
    rig = _rig()
    result = rig.ingest(build("alex.jones@nhs.net"))
    assert result.outcome is Kind.AUTOMATED, kind
    assert rig.outbox() == []


def test_a_robot_like_subject_above_a_form_is_a_persons_request() -> None:
    rig = _rig()
    raw = email(
        subject="Out of office cover: " + SUBJECT,
        attachments=[("form.docx", DOCX, docx_form(new_request(0)))],
    )
    result = rig.ingest(raw)
    assert result.outcome is Kind.FILED and result.replies == 1


def test_an_autoresponder_answering_our_how_to_email_gets_nothing_more() -> None:
    rig = _rig()
    rig.ingest(email(sender="alex.jones@nhs.net", body="How do I ask for access?"))
    (how_to,) = rig.outbox()
    assert how_to.kind == "no_form"
    # A vacation reply with no robot header at all, in the thread of our how-to email.
    for round_ in range(5):
        answer = email(
            sender="alex.jones@nhs.net",
            subject="RE: How to send a request - " + SUBJECT,
            body=f"I am away until Monday ({round_}).",
            headers={"In-Reply-To": rig.outbox()[-1].message_id},
        )
        result = rig.ingest(answer)
        assert result.outcome is Kind.ENQUIRY and result.replies == 0
    assert len(rig.outbox()) == 1  # the loop is broken after our one reply
    assert [e.note for e in rig.store.memory.all(Event) if e.action == "reply_suppressed"] == [
        "answers one of our emails without a form: no second automatic reply"
    ] * 5


def test_a_reply_to_an_acknowledgement_without_a_form_is_threaded_and_not_answered() -> None:
    rig = _rig()
    rig.ingest(email(attachments=[("form.docx", DOCX, docx_form(new_request(0)))]))
    (ack,) = rig.outbox()
    reply = email(subject="Thanks", headers={"In-Reply-To": ack.message_id})
    result = rig.ingest(reply)
    assert result.outcome is Kind.REPLY and result.replies == 0 and len(rig.outbox()) == 1


def test_a_strangers_autoresponder_in_a_request_thread_gets_nothing() -> None:
    rig = _rig()
    rig.ingest(email(attachments=[("form.docx", DOCX, docx_form(new_request(0)))]))
    (ack,) = rig.outbox()
    reply = email(sender="mallory@evil.example", headers={"In-Reply-To": ack.message_id})
    assert rig.ingest(reply).replies == 0
    assert len(rig.outbox()) == 1


GMAIL_SPELLINGS = [
    "alex.jones@gmail.com",
    "Alex.Jones@gmail.com",
    "alexjones@gmail.com",
    "a.l.e.x.j.o.n.e.s@gmail.com",
    "alex.jones+dsfc@gmail.com",
    "ALEXJONES+1@GOOGLEMAIL.COM",
    "alex.jones@googlemail.com",
    "alexj.ones+x.y@gmail.com",
]


def test_every_spelling_of_one_gmail_mailbox_is_one_address() -> None:
    assert {canonical_address(a) for a in GMAIL_SPELLINGS} == {"alexjones@gmail.com"}
    assert canonical_address("Alex.Jones+x@nhs.net") == "alex.jones@nhs.net"  # dots kept


def test_the_hourly_cap_counts_one_mailbox_however_it_is_spelt() -> None:
    rig = _rig()
    limit = rig.intake.notifier.letterhead.replies_per_sender_per_hour
    for n in range(30):
        sender = GMAIL_SPELLINGS[n % len(GMAIL_SPELLINGS)]
        rig.ingest(email(sender=sender, body=f"question {n}"))
    assert len(rig.outbox()) == limit


def _bounce_of(message_id: str) -> bytes:
    boundary = "B"
    return (
        "From: MAILER-DAEMON@mx.nhs.net\r\nTo: dsfc.enquiries@example.nhs.uk\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce.1@mx.nhs.net>\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        f"\r\n--{boundary}\r\nContent-Type: text/plain\r\n\r\nCould not be delivered.\r\n"
        f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.nhs.net\r\n\r\nFinal-Recipient: rfc822; aisha.khan@nhs.net\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\n"
        f"--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: DSfC <{OUR_ADDRESS}>\r\nMessage-ID: {message_id}\r\nSubject: x\r\n"
        f"--{boundary}--\r\n"
    ).encode()


def test_an_acknowledgements_bounce_is_recorded_on_its_request() -> None:
    rig = _rig()
    rig.ingest(email(attachments=[("form.docx", DOCX, docx_form(new_request(0)))]))
    (ack,) = rig.outbox()
    result = rig.ingest(_bounce_of(ack.message_id))
    assert result.outcome is Kind.AUTOMATED and len(rig.outbox()) == 1
    (request,) = rig.store.memory.all(Request)
    (event,) = [e for e in rig.store.memory.all(Event) if e.action == "delivery_failed"]
    assert event.request_id == request.id
    assert any("undelivered" in f["message"] for f in request.flags)
    bounce = rig.store.memory.all(InboundMessage)[-1]
    assert bounce.request_id == request.id


def test_an_unrelated_bounce_touches_no_request() -> None:
    rig = _rig()
    rig.ingest(email(attachments=[("form.docx", DOCX, docx_form(new_request(0)))]))
    rig.ingest(_bounce_of("<someone.else@elsewhere.example>"))
    (request,) = rig.store.memory.all(Request)
    assert not any("undelivered" in f["message"] for f in request.flags)
