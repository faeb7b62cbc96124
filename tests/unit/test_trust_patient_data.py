"""No patient data by accident (issue 9, finding 10) and no control characters on the way out
(finding 7), on the in-memory fakes and with the real templates and composer."""

from __future__ import annotations

import logging
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from stdnum.gb.nhs import is_valid

from intake_bot.domain.patient_data import holds_nhs_number, where_nhs_numbers_are
from intake_bot.domain.printable import clean_line, clean_text
from intake_bot.domain.records import Attachment, Event, InboundMessage, Request
from intake_bot.mail.compose import MimeComposer
from intake_bot.mail.render import Renderer
from intake_bot.ports import MessageRef
from intake_bot.samples import DOCX, body_form, docx_form, email, new_request
from intake_bot.services.classify import Kind
from tests.fakes.intake import OUR_ADDRESS, make_rig

NHS_NUMBER = "943 476 5919"  # passes Modulus 11
NOT_NHS = "9434765918"  # ten digits, fails the check: a contract reference
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_numbers_that_pass_the_check_are_found_in_any_spelling() -> None:
    for text in ("9434765919", "943 476 5919", "943-476-5919", "NHS no. 943 476-5919."):
        assert holds_nhs_number(text, is_valid), text
    for text in (NOT_NHS, "CSU-SLA-2016-100", "0113 825 0000", "19434765919", "94347659191"):
        assert not holds_nhs_number(text, is_valid), text


def test_where_says_the_place_never_the_number() -> None:
    found = where_nhs_numbers_are(
        is_valid,
        subject="Patient 9434765919",
        body="none",
        forms=[("attachment 1", {"datasets": f"SUS for {NHS_NUMBER}", "purposes": "x"})],
    )
    assert found == ["subject", "attachment 1: datasets"]


@pytest.mark.parametrize("where", ["subject", "body", "form field", "body form"])
def test_an_nhs_number_anywhere_quarantines_the_message_and_nothing_is_filed(
    where: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rig = make_rig()
    values = new_request(0, datasets=f"SUS for patient {NHS_NUMBER}")
    if where == "subject":
        raw = email(subject=f"Data Services for Commissioners - {NHS_NUMBER}")
    elif where == "body":
        raw = email(body=f"The patient is {NHS_NUMBER}, please look.")
    elif where == "form field":
        raw = email(attachments=[("form.docx", DOCX, docx_form(values))])
    else:
        raw = email(body=body_form(values))
    result = rig.ingest(raw)

    assert result.outcome is Kind.QUARANTINED and result.move_to_quarantine
    assert rig.store.memory.all(Request) == []
    (inbound,) = rig.store.memory.all(InboundMessage)
    assert inbound.queue == "quarantine" and inbound.outcome == "quarantined"
    assert "patient_data_held" in [e.action for e in rig.store.memory.all(Event)]
    warning, alert = rig.outbox()
    assert warning.kind == "patient_data" and warning.recipients == ["aisha.khan@nhs.net"]
    assert alert.kind == "patient_data_staff" and alert.recipients == [OUR_ADDRESS]
    digits = NHS_NUMBER.replace(" ", "")
    for kind, context in rig.renderer.rendered:
        flat = repr(context).replace(" ", "").replace("-", "")
        assert digits not in flat, kind  # never echoed, not even to staff
    for event in rig.store.memory.all(Event):
        assert digits not in event.note.replace(" ", "")
    assert digits not in caplog.text.replace(" ", "")


def test_a_ten_digit_contract_reference_that_fails_the_check_is_filed() -> None:
    rig = make_rig()
    raw = email(
        attachments=[("f.docx", DOCX, docx_form(new_request(0, contract_reference=NOT_NHS)))]
    )
    assert rig.ingest(raw).outcome is Kind.FILED


def test_staff_are_alerted_at_the_offices_own_addresses_when_named() -> None:
    rig = make_rig()
    rig.intake.office_staff = {"North": ("dscro.north@nhs.net",)}
    rig.intake.ingest(
        email(body=f"patient {NHS_NUMBER}"),
        MessageRef("north", "1"),
        default_office="North",
    )
    assert rig.outbox()[-1].recipients == ["dscro.north@nhs.net"]


def test_a_robots_mail_with_an_nhs_number_is_held_but_never_answered() -> None:
    rig = make_rig()
    raw = email(body=f"Auto: {NHS_NUMBER}", headers={"Auto-Submitted": "auto-replied"})
    assert rig.ingest(raw).outcome is Kind.QUARANTINED
    assert [o.kind for o in rig.outbox()] == ["patient_data_staff"]


def test_the_attachments_of_a_held_message_are_kept_for_staff() -> None:
    rig = make_rig()
    values = new_request(0, datasets=f"SUS {NHS_NUMBER}")
    rig.ingest(email(attachments=[("form.docx", DOCX, docx_form(values))]))
    (attachment,) = rig.store.memory.all(Attachment)
    assert attachment.filename == "form.docx"


# -- control characters never leave in an email (finding 7) ------------------------------------

HOSTILE = "Aisha\x1b[2J\x1b]0;pwned\x07 Khan\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\\u202e\x00"


def test_escapes_are_removed_from_lines_and_texts() -> None:
    assert clean_line(HOSTILE) == "Aisha Khanclick"
    assert "\x1b" not in clean_text("a\nb\x1b[31m") and clean_text("a\nb\tc") == "a\nb\tc"
    assert clean_line("Subject\r\nBcc: x@example.org") == "Subject Bcc: x@example.org"


def test_hostile_form_fields_never_reach_an_outgoing_header_or_text_part() -> None:
    rig = make_rig()
    rig.intake.notifier.renderer = Renderer(TEMPLATES)
    rig.intake.notifier.composer = MimeComposer()
    values = new_request(0, requester_name=HOSTILE, commissioner_name="Leeds\x1b[31m CCG\x9b1m")
    raw = email(
        sender_name="Aisha\x1b[31m Khan",
        subject="Data Services for Commissioners - Legitimate Relationships \x1b]0;x\x07",
        body=body_form(values),  # a Word file cannot hold these; typed text can
    )
    rig.ingest(raw)
    (ack,) = rig.outbox()
    assert b"\x1b" not in ack.raw and b"\x00" not in ack.raw
    sent = message_from_bytes(ack.raw, policy=default)
    for name, value in sent.items():
        assert value.isprintable(), name
    for part in sent.walk():
        if part.get_content_maintype() == "text":
            text = part.get_content()
            assert not any(c in text for c in "\x1b\x07\x00\x9b\u202e"), part.get_content_type()
