"""Issue 9 end to end over Dovecot and SMTP, on SQLite and PostgreSQL: a thread hijack, a
spoofed From, a Message-ID collision and patient data, each with a good request queued behind
it, counted at the database and at the SMTP server."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default

import pytest

from intake_bot.domain.status import Status
from intake_bot.samples import DOCX, SUBJECT, docx_form, email, new_request
from tests.integration.trust_rig import TrustRig, text_of, trust_rig

pytestmark = pytest.mark.integration
__all__ = ["trust_rig"]  # the fixture, for pytest

REQUESTER = "aisha.khan@nhs.net"
STRANGER = "mallory@evil.example"
GOOD = "tom.bradley@nhs.net"  # new_request(1)'s requester: the good request behind each


def _form(values: dict[str, str], **options: object) -> bytes:
    return email(attachments=[("form.docx", DOCX, docx_form(values))], **options)  # type: ignore[arg-type]


def _good() -> bytes:
    return _form(new_request(1), sender=GOOD, sender_name="Tom Bradley")


def test_a_stranger_replying_in_a_requests_thread_changes_nothing(trust_rig: TrustRig) -> None:
    rig = trust_rig
    rig.deliver(_form(new_request(0, commissioner_ods="TOO-LONG-1")))
    rig.cycle()
    hostile = new_request(3, requester_email=STRANGER, processor_name="Evil Processing Ltd")
    rig.deliver(
        _form(hostile, sender=STRANGER, subject=f"RE: [LR-000001] Request received - {SUBJECT}"),
        _good(),
    )
    rig.cycle()

    first, good = rig.requests()
    assert first.requester_email == REQUESTER and first.status == "incomplete"
    assert first.values.get("processor_name") != "Evil Processing Ltd"
    assert any(STRANGER in f["message"] for f in first.flags)
    assert good.requester_email == GOOD and good.status == "triaged"
    assert len(rig.inbox(REQUESTER)) == 1 and len(rig.inbox(GOOD)) == 1
    (answer,) = rig.inbox(STRANGER)
    told = str(answer["Subject"]) + text_of(answer)
    assert "LR-000001" not in told and "Leeds" not in told and "passed it to our team" in told


def test_a_spoofed_from_naming_a_registered_contact_waits_in_verification(
    trust_rig: TrustRig,
) -> None:
    rig = trust_rig
    rig.deliver(_form(new_request(0)))
    rig.cycle()
    rig.app.requests.change_status("LR-000001", Status.IN_REVIEW, actor="Sam Staff")
    rig.app.requests.change_status("LR-000001", Status.APPROVED, actor="Sam Staff")
    change = new_request(
        0,
        request_type="Change to an existing relationship",
        existing_reference="LCR-000001",
        change_description="Another processor",
        requester_email="helen.morris@nhs.net",
    )
    spoofed = _form(change, sender="helen.morris@nhs.net", sender_name="Helen Morris").replace(
        b"From: Helen Morris <helen.morris@nhs.net>",
        b"From: helen.morris@nhs.net <attacker@evil.example>",
    )
    rig.deliver(spoofed, _good())
    rig.cycle()

    _, change_request, good = rig.requests()
    assert change_request.status == "verification"
    assert any("unverified" in f["message"] for f in change_request.flags)
    assert good.status == "triaged" and len(rig.inbox(GOOD)) == 1


def _with_message_id(raw: bytes, message_id: bytes) -> bytes:
    head, sep, body = raw.partition(b"\n\n")
    lines = [
        b"Message-ID: " + message_id if line.lower().startswith(b"message-id:") else line
        for line in head.split(b"\n")
    ]
    return b"\n".join(lines) + sep + body


def test_a_message_id_collision_never_drops_the_real_request(trust_rig: TrustRig) -> None:
    rig = trust_rig
    stolen = b"<request-2016-04@nhs.net>"
    rig.deliver(
        _with_message_id(email(sender=STRANGER, body="I was here first"), stolen),
        _with_message_id(_form(new_request(0)), stolen),
    )
    rig.cycle()
    rig.cycle()  # a second poll files nothing again

    assert len(rig.messages()) == 2
    (request,) = rig.requests()
    assert request.requester_email == REQUESTER and request.status == "triaged"
    assert any("Message-ID" in f["message"] for f in request.flags)
    (ack,) = rig.inbox(REQUESTER)
    assert "[LR-000001]" in str(ack["Subject"])
    assert len(rig.inbox(STRANGER)) == 1  # the how-to reply to the stranger's enquiry


def test_patient_data_is_quarantined_the_sender_warned_and_staff_alerted(
    trust_rig: TrustRig,
) -> None:
    rig = trust_rig
    rig.deliver(email(body="Patient NHS number 943 476 5919 needs checking."), _good())
    rig.cycle()

    held, filed = rig.messages()
    assert held.queue == "quarantine" and held.request_id is None
    (good,) = rig.requests()
    assert good.requester_email == GOOD
    (warning,) = rig.inbox(REQUESTER)
    (alert,) = rig.inbox("dsfc.enquiries@example.nhs.uk")
    for sent in (warning, alert):
        raw = sent.as_bytes()
        assert b"9434765919" not in raw.replace(b" ", b"") and b"943 476" not in raw
    assert "patient data" in text_of(warning).lower()
    assert "quarantine" in text_of(alert)
    with rig.dovecot.client() as client:
        folders = {name for _, _, name in client.list_folders()}
    assert "Quarantine" in folders
    assert filed.request_id == good.id
    assert message_from_bytes(warning.as_bytes(), policy=default)["Auto-Submitted"]
