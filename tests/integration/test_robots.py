"""The bot never talks to a robot, end to end over Dovecot and SMTP (issue 9, finding 8): more
than forty kinds of automatic mail get no reply, an autoresponder loop stops after our one
reply, and the bounce of an acknowledgement is recorded on its request."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from intake_bot.samples import DOCX, SUBJECT, docx_form, email, new_request
from tests.integration.trust_rig import OUR_ADDRESS, TrustRig, trust_rig
from tests.robot_mail import ROBOTS

pytestmark = pytest.mark.integration
__all__ = ["trust_rig"]  # the fixture, for pytest

PERSON = "alex.jones@nhs.net"


def test_no_kind_of_automatic_mail_is_answered_and_the_good_request_is(
    trust_rig: TrustRig,
) -> None:
    rig = trust_rig
    assert len(ROBOTS) >= 40
    rig.deliver(*(build(PERSON) for _, build in ROBOTS))
    rig.deliver(email(attachments=[("form.docx", DOCX, docx_form(new_request(0)))]))
    rig.cycle()

    outcomes = [m.outcome for m in rig.messages()]
    assert outcomes.count("automated") == len(ROBOTS), outcomes
    assert [m.rcpt_tos for m in rig.smtp.messages()] == [("aisha.khan@nhs.net",)]


def _autoresponder_answer(to_message_id: str, n: int) -> bytes:
    # What a home-made autoresponder sends: no robot header, no robot subject, just a reply.
    return email(
        sender=PERSON,
        sender_name="Alex Jones",
        subject=f"RE: How to send a request - {SUBJECT}",
        body=f"Thank you for your message. I read my email on Mondays. ({n})",
        headers={"In-Reply-To": to_message_id, "References": to_message_id},
    )


def test_an_autoresponder_loop_is_broken_after_one_reply(trust_rig: TrustRig) -> None:
    rig = trust_rig
    rig.deliver(email(sender=PERSON, sender_name="Alex Jones", body="How do I ask?"))
    rig.cycle()
    (how_to,) = rig.smtp.messages()
    for n in range(4):  # the robot answers whatever we sent last
        last = rig.smtp.messages()[-1].message_id
        assert last is not None
        rig.deliver(_autoresponder_answer(last, n))
        rig.cycle()
    assert [m.message_id for m in rig.smtp.messages()] == [how_to.message_id]
    assert len(rig.messages()) == 5


def _postfix_bounce(message_id: str) -> bytes:
    """Postfix's report keeps nothing of our subject: only the returned message names us."""
    return (
        "From: MAILER-DAEMON@mx.example.nhs.uk (Mail Delivery System)\r\n"
        f"To: {OUR_ADDRESS}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <20261205.bounce@mx.example.nhs.uk>\r\nAuto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="pf"\r\n\r\n'
        "--pf\r\nContent-Description: Notification\r\nContent-Type: text/plain\r\n\r\n"
        "I'm sorry to have to inform you that your message could not\r\nbe delivered.\r\n"
        "--pf\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        "Final-Recipient: rfc822; aisha.khan@nhs.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "--pf\r\nContent-Description: Undelivered Message\r\nContent-Type: message/rfc822\r\n"
        f"\r\nFrom: DSfC <{OUR_ADDRESS}>\r\nTo: aisha.khan@nhs.net\r\n"
        f"Message-ID: {message_id}\r\nSubject: [LR-000001] Request received\r\n\r\n"
        "Thank you for your request.\r\n--pf--\r\n"
    ).encode()


def _bounce(message_id: str) -> bytes:
    return (
        "From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@nhs.net>\r\n"
        # Exchange's bounce subject quotes ours; Postfix's does not (_postfix_bounce).
        f"To: {OUR_ADDRESS}\r\nSubject: Undeliverable: [LR-000001] Request received - {SUBJECT}\r\n"
        "Message-ID: <bounce-1@mx.nhs.net>\r\nAuto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nThe mail system could not deliver it.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.nhs.net\r\n"
        "\r\nFinal-Recipient: rfc822; aisha.khan@nhs.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: DSfC <{OUR_ADDRESS}>\r\nTo: aisha.khan@nhs.net\r\nMessage-ID: {message_id}\r\n"
        "Subject: [LR-000001] Request received\r\n--b--\r\n"
    ).encode()


@pytest.mark.parametrize("bounce", [_bounce, _postfix_bounce], ids=["exchange", "postfix"])
def test_an_acknowledgements_bounce_is_recorded_on_its_request(
    trust_rig: TrustRig, bounce: Callable[[str], bytes]
) -> None:
    rig = trust_rig
    rig.deliver(email(attachments=[("form.docx", DOCX, docx_form(new_request(0)))]))
    rig.cycle()
    (ack,) = rig.smtp.messages()
    assert ack.message_id is not None
    rig.deliver(bounce(ack.message_id))
    rig.cycle()

    (request,) = rig.requests()
    assert "delivery_failed" in [e.action for e in rig.events(request.id or 0)]
    assert any("undelivered" in f["message"] for f in request.flags)
    assert len(rig.smtp.messages()) == 1  # the bounce itself is never answered


def test_someone_elses_bounce_in_the_shared_mailbox_is_left_to_people(trust_rig: TrustRig) -> None:
    rig = trust_rig
    rig.deliver(_postfix_bounce("<CAB1234@mail.example.nhs.uk>"))  # a colleague's own email
    rig.cycle()
    assert rig.messages() == []  # not archived
    with rig.dovecot.client() as client:
        client.select_folder("INBOX", readonly=True)
        flags = client.get_flags(client.search(["ALL"]))
    assert len(flags) == 1  # still in the inbox
    assert all(b"$IntakeBotFiled" not in f and b"\\Seen" not in f for f in flags.values())
    assert rig.smtp.messages() == []
