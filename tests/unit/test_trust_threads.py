"""Who may change a request, and which message is which (issue 9, findings 1, 2 and 3), on the
in-memory fakes: thread hijack, spoofed From, DMARC for another domain, Message-ID collisions."""

from __future__ import annotations

from datetime import UTC, datetime

from intake_bot.domain.records import (
    Event,
    InboundMessage,
    Organisation,
    Outbox,
    Relationship,
    RelationshipVersion,
    Request,
)
from intake_bot.ports import MessageRef
from intake_bot.samples import DOCX, docx_form, email, new_request
from intake_bot.services.classify import Kind
from tests.fakes.intake import Rig, make_rig

THREAD = (
    "RE: [LR-000001] Request received - Data Services for Commissioners - Legitimate Relationships"
)
AUTHSERV = "mx.dsfc.example.nhs.uk"


def _form(values: dict[str, str], **options: object) -> bytes:
    return email(attachments=[("form.docx", DOCX, docx_form(values))], **options)  # type: ignore[arg-type]


def _actions(rig: Rig) -> list[str]:
    return [e.action for e in rig.store.memory.all(Event)]


def _incomplete_request(rig: Rig) -> Request:
    rig.ingest(_form(new_request(0, commissioner_ods="TOO-LONG-1")))
    (request,) = rig.store.memory.all(Request)
    assert request.status == "incomplete" and request.requester_email == "aisha.khan@nhs.net"
    return request


def test_a_strangers_reply_with_a_form_never_changes_the_request_and_learns_nothing() -> None:
    rig = make_rig()
    request = _incomplete_request(rig)
    before = dict(request.values)
    hostile = new_request(3, requester_email="mallory@evil.example")
    result = rig.ingest(_form(hostile, sender="mallory@evil.example", subject=THREAD))

    assert result.outcome is Kind.REPLY
    assert rig.store.memory.all(Request) == [request]  # nothing new filed from it either
    assert request.values == before and request.requester_email == "aisha.khan@nhs.net"
    assert request.status == "incomplete"
    assert any("mallory@evil.example" in f["message"] for f in request.flags)
    reply = rig.outbox()[-1]
    assert reply.kind == "reply_not_applied" and reply.recipients == ["mallory@evil.example"]
    (context,) = rig.contexts("reply_not_applied")
    assert "request" not in context and "LR-000001" not in repr(context)
    inbound = rig.store.memory.all(InboundMessage)[-1]
    assert inbound.request_id == request.id  # kept as correspondence on the request


def test_later_status_mail_still_goes_to_the_address_recorded_when_filed() -> None:
    rig = make_rig()
    request = _incomplete_request(rig)
    rig.ingest(_form(new_request(0), sender="mallory@evil.example", subject=THREAD))
    assert request.requester_email == "aisha.khan@nhs.net"
    assert request.sender_email == "aisha.khan@nhs.net"
    assert all("mallory" not in str(o.recipients) for o in rig.outbox() if o.request_id)


def test_the_requesters_correction_applies_but_never_moves_the_requester_address() -> None:
    rig = make_rig()
    request = _incomplete_request(rig)
    corrected = new_request(0, requester_email="someone.else@nhs.net")
    rig.ingest(_form(corrected, subject=THREAD, headers={"Reply-To": "mallory@evil.example"}))

    assert request.status == "triaged" and request.commissioner_ods == "02V"
    assert request.requester_email == "aisha.khan@nhs.net"
    assert request.values["requester_email"] == "aisha.khan@nhs.net"
    assert any("someone.else@nhs.net" in f["message"] for f in request.flags)
    ack = rig.outbox()[-1]
    assert ack.kind == "ack_valid" and ack.recipients == ["aisha.khan@nhs.net"]  # not Reply-To


def test_a_reply_from_a_spoofed_from_is_correspondence_even_naming_the_requester() -> None:
    rig = make_rig()
    request = _incomplete_request(rig)
    spoofed = _form(new_request(0), subject=THREAD)
    spoofed = spoofed.replace(
        b"From: Aisha Khan <aisha.khan@nhs.net>",
        b"From: aisha.khan@nhs.net <mallory@evil.example>",
    )
    rig.ingest(spoofed)
    assert request.status == "incomplete" and request.commissioner_ods is None
    assert any("unverified" in f["message"] for f in request.flags)


def test_a_dmarc_pass_for_another_domain_proves_nothing_on_a_reply() -> None:
    rig = make_rig()
    rig.intake.authserv_id = AUTHSERV
    request = _incomplete_request(rig)
    header = f"{AUTHSERV}; dmarc=pass header.from=evil.example"
    rig.ingest(_form(new_request(0), subject=THREAD, headers={"Authentication-Results": header}))
    assert request.status == "incomplete"
    assert any("DMARC" in f["message"] for f in request.flags)


def _registered_relationship(rig: Rig) -> None:
    memory = rig.store.memory
    rel = memory.add(
        Relationship(
            reference="LCR-000001",
            created_at=datetime(2016, 1, 4, tzinfo=UTC),
            updated_at=datetime(2016, 1, 4, tzinfo=UTC),
            commissioner_ods="02V",
            processor_ods="0DE",
        )
    )
    memory.add(
        RelationshipVersion(
            relationship_id=rel.id or 0,
            version=1,
            created_at=datetime(2016, 1, 4, tzinfo=UTC),
            values={"authoriser_email": "helen.morris@nhs.net", "commissioner_ods": "02V"},
        )
    )


def _change(sender_line: bytes, **options: object) -> bytes:
    values = new_request(
        0,
        request_type="Change to an existing relationship",
        existing_reference="LCR-000001",
        change_description="A new data processor from 1 April",
        requester_email="helen.morris@nhs.net",
    )
    raw = _form(values, sender="helen.morris@nhs.net", sender_name="Helen Morris", **options)
    return raw.replace(b"From: Helen Morris <helen.morris@nhs.net>", b"From: " + sender_line)


def test_a_registered_contacts_own_change_is_triaged() -> None:
    rig = make_rig()
    _registered_relationship(rig)
    rig.ingest(_change(b"Helen Morris <helen.morris@nhs.net>"))
    (request,) = rig.store.memory.all(Request)
    assert request.status == "triaged", request.flags


def test_spoofed_froms_naming_a_registered_contact_wait_in_verification() -> None:
    for line in (
        b"helen.morris@nhs.net <attacker@evil.example>",
        b"<helen.morris@nhs.net>attacker@evil.example",
        b'"helen.morris@nhs.net" <attacker@evil.example>',
        b"Helen <helen.morris@nhs.net>, Eve <attacker@evil.example>",
        b"=?utf-8?q?helen.morris=40nhs.net?= <attacker@evil.example>",
    ):
        rig = make_rig()
        _registered_relationship(rig)
        rig.ingest(_change(line))
        (request,) = rig.store.memory.all(Request)
        assert request.status == "verification", line
        assert any("unverified" in f["message"] for f in request.flags), line


def test_a_dmarc_pass_counts_only_for_the_from_domain_read() -> None:
    for header_from, status in (("evil.example", "verification"), ("nhs.net", "triaged")):
        rig = make_rig()
        rig.intake.authserv_id, rig.intake.require_dmarc_pass = AUTHSERV, True
        _registered_relationship(rig)
        results = f"{AUTHSERV}; dmarc=pass header.from={header_from}"
        line = b"Helen Morris <helen.morris@nhs.net>"
        rig.ingest(_change(line, headers={"Authentication-Results": results}))
        (request,) = rig.store.memory.all(Request)
        assert request.status == status, header_from


# -- Message-ID collisions (finding 3) ---------------------------------------------------------


def _same_id(raw: bytes, message_id: bytes) -> bytes:
    head, sep, body = raw.partition(b"\n\n")
    lines = [
        b"Message-ID: " + message_id if line.lower().startswith(b"message-id:") else line
        for line in head.split(b"\n")
    ]
    return b"\n".join(lines) + sep + body


def test_a_message_id_collision_files_both_and_flags_the_second() -> None:
    rig = make_rig()
    stranger = _same_id(email(sender="mallory@evil.example", body="first!"), b"<fixed@nhs.net>")
    real = _same_id(_form(new_request(0)), b"<fixed@nhs.net>")
    assert rig.ingest(stranger).outcome is Kind.ENQUIRY
    result = rig.ingest(real)

    assert result.outcome is Kind.FILED and result.references == ("LR-000001",)
    (request,) = rig.store.memory.all(Request)
    assert any("Message-ID" in f["message"] for f in request.flags)
    assert "message_id_collision" in _actions(rig)
    assert [o.kind for o in rig.outbox()] == ["no_form", "ack_valid"]


def test_replays_are_duplicates_by_location_or_by_message_id_and_hash() -> None:
    rig = make_rig()
    stranger = _same_id(email(sender="mallory@evil.example"), b"<fixed@nhs.net>")
    real = _same_id(_form(new_request(0)), b"<fixed@nhs.net>")
    rig.ingest(stranger)
    rig.ingest(real)
    intake = rig.intake
    # The same location again (a crash before the flag), even with other bytes.
    assert intake.ingest(real, MessageRef("enquiries", "2")).outcome is Kind.DUPLICATE
    assert intake.ingest(b"X: y\n\nz", MessageRef("enquiries", "1")).outcome is Kind.DUPLICATE
    # The same bytes at another location (copied to another folder): each recognised.
    assert intake.ingest(stranger, MessageRef("other", "9")).outcome is Kind.DUPLICATE
    assert intake.ingest(real, MessageRef("other", "10")).outcome is Kind.DUPLICATE
    assert len(rig.store.memory.all(InboundMessage)) == 2
    assert len(rig.store.memory.all(Outbox)) == 2


def test_a_message_id_alone_never_drops_a_message() -> None:
    rig = make_rig()
    for n in range(3):
        rig.ingest(_same_id(_form(new_request(n)), b"<same@nhs.net>"))
    assert len(rig.store.memory.all(Request)) == 3
    keys = {m.dedupe_key for m in rig.store.memory.all(InboundMessage)}
    assert len(keys) == 3


def test_registered_organisation_contacts_may_correct_a_request() -> None:
    org = Organisation(ods="02V", name="NHS Leeds North CCG", contacts=["ig.lead@nhs.net"])
    rig = make_rig(organisations=[org])
    rig.ingest(_form(new_request(0, contract_signed_date="31/13/2016")))
    (request,) = rig.store.memory.all(Request)
    assert request.status == "incomplete"
    rig.ingest(_form(new_request(0), sender="ig.lead@nhs.net", subject=THREAD))
    assert request.status == "triaged" and request.requester_email == "aisha.khan@nhs.net"
