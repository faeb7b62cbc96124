"""`intake-bot parse` (`Intake.parse`) on the in-memory fakes: it decides as a poll does, with
the same classify and the same checks, and says where its reference data came from."""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace
from datetime import date

from intake_bot.domain.records import Approval, Request
from intake_bot.samples import DOCX, SUBJECT, docx_form, email, new_request
from intake_bot.services.classify import Kind
from intake_bot.services.preview import Verdict
from tests.fakes.intake import BLANK_FORMS, make_rig

RISK = "CAG 7-04(a)/2013"


def _approval(expires: date, reference: str = RISK) -> Approval:
    return Approval(reference, "Risk stratification", expires, ["Risk stratification"])


def _risk_form(**overrides: str) -> bytes:
    values = new_request(0, purposes="Risk stratification", s251_references=RISK, **overrides)
    return email(attachments=[("risk.docx", DOCX, docx_form(values))])


def test_parse_reads_approvals_from_the_database_and_agrees_with_a_poll() -> None:
    # Extended in the database (`s251 extend`); config/ still holds the old, expired date.
    rig = make_rig(approvals=[_approval(date(2018, 3, 31))])
    rig.config_approvals = [_approval(date(2016, 3, 1))]
    raw = _risk_form()
    preview = rig.intake.parse("risk.eml", raw)
    assert preview.reference_data == "database"
    assert preview.verdict is Verdict.ACCEPTED and preview.outcome == Kind.FILED
    assert rig.ingest(raw).outcome is Kind.FILED
    (request,) = rig.store.memory.all(Request)
    assert request.status == "triaged"
    assert list(preview.requests[0].problems) == [p["message"] for p in request.problems] == []


def test_parse_and_a_poll_list_the_same_problems() -> None:
    rig = make_rig(approvals=[_approval(date(2016, 3, 1))])  # expired before the clock's today
    raw = _risk_form(contract_signed_date="31/13/2016")
    preview = rig.intake.parse("bad.eml", raw)
    assert preview.verdict is Verdict.REJECTED
    rig.ingest(raw)
    (request,) = rig.store.memory.all(Request)
    assert list(preview.requests[0].problems) == [p["message"] for p in request.problems]
    assert any("expired on 01/03/2016" in p for p in preview.requests[0].problems)
    assert list(preview.requests[0].flags) == [f["message"] for f in request.flags]


def test_without_a_database_parse_reads_config_and_says_so() -> None:
    rig = make_rig(approvals=[_approval(date(2018, 3, 31))])
    rig.database = False
    rig.config_approvals = [_approval(date(2016, 3, 1))]
    preview = rig.intake.parse("risk.eml", _risk_form())
    assert preview.reference_data == "config"
    assert preview.as_dict()["reference_data"] == "config"
    assert preview.verdict is Verdict.REJECTED
    assert any("expired" in p for p in preview.requests[0].problems)


def test_parse_files_nothing() -> None:
    rig = make_rig()
    rig.intake.parse("x.eml", _risk_form())
    assert rig.store.memory.all(Request) == [] and rig.outbox() == []


def test_a_form_file_on_its_own_is_judged_without_a_sender() -> None:
    rig = make_rig()
    good = rig.intake.parse("form.docx", docx_form(new_request(0)))
    assert good.kind == "file" and good.verdict is Verdict.ACCEPTED and good.email is None
    broken = rig.intake.parse("broken.docx", b"PK\x03\x04 not a zip")
    assert broken.verdict is Verdict.UNREADABLE


def test_parse_knows_a_reply_to_one_of_our_emails_when_it_can_read_the_database() -> None:
    rig = make_rig()
    rig.ingest(email(attachments=[("f.docx", DOCX, docx_form(new_request(0)))]))
    (ack,) = rig.outbox()
    reply = email(subject="RE: " + SUBJECT, headers={"In-Reply-To": ack.message_id})
    preview = rig.intake.parse("reply.eml", reply)
    assert preview.outcome == Kind.REPLY and "LR-000001" in preview.summary


def test_parse_says_what_a_poll_says_of_robots_enquiries_and_non_email() -> None:
    rig = make_rig()
    robot = rig.intake.parse("ooo.eml", email(headers={"Auto-Submitted": "auto-replied"}))
    assert (robot.verdict, robot.outcome) == (Verdict.REJECTED, Kind.AUTOMATED)
    enquiry = rig.intake.parse("q.eml", email(body="How do I ask?\n"))
    assert (enquiry.verdict, enquiry.outcome) == (Verdict.REJECTED, Kind.ENQUIRY)
    junk = rig.intake.parse("junk.eml", b"\r\n \r\n")
    assert (junk.verdict, junk.outcome) == (Verdict.UNREADABLE, Kind.QUARANTINED)


def test_without_a_database_a_change_is_flagged_as_not_checked_against_the_register() -> None:
    rig = make_rig()
    rig.database = False
    change = new_request(
        0,
        request_type="End a relationship",
        existing_reference="LCR-000001",
        change_description="Contract ended.",
    )
    preview = rig.intake.parse("end.docx", docx_form(change))
    assert any("not checked" in f for f in preview.requests[0].flags)
    rig.database = True
    with_register = rig.intake.parse("end.docx", docx_form(change))
    assert any("LCR-000123" in p for p in with_register.requests[0].problems)  # not in it


def test_a_complete_form_beside_a_file_that_cannot_be_read_is_accepted_as_a_poll_files_it() -> None:
    rig = make_rig()
    raw = email(
        attachments=[
            ("form.docx", DOCX, docx_form(new_request(0))),
            ("scan.docx", DOCX, b"PK\x03\x04 not a zip"),
        ]
    )
    preview = rig.intake.parse("two.eml", raw)
    assert preview.verdict is Verdict.ACCEPTED
    assert "1 other file not read" in preview.summary
    assert [r.filename for r in preview.rejections] == ["scan.docx"]
    rig.ingest(raw)
    (request,) = rig.store.memory.all(Request)
    assert request.status == "triaged"
    (ack,) = rig.contexts("ack_valid")
    assert [f["filename"] for f in ack["rejected_files"]] == ["scan.docx"]  # type: ignore[attr-defined]
    # its reason offers the blank form attached: it is attached
    (letter,) = rig.composer.letters
    assert [a.filename for a in letter.attachments] == [f.filename for f in BLANK_FORMS]
    # a zip beside a form is named, and not offered the blank: none is attached
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("form.docx", "a form, zipped")
    zipped = email(
        attachments=[
            ("form.docx", DOCX, docx_form(new_request(1))),
            ("bundle.zip", "application/zip", archive.getvalue()),
        ]
    )
    rig.ingest(zipped)
    (ack,) = rig.contexts("ack_valid")[1:]
    assert [f["filename"] for f in ack["rejected_files"]] == ["bundle.zip"]  # type: ignore[attr-defined]
    assert not rig.composer.letters[-1].attachments
    incomplete = email(
        attachments=[
            ("form.docx", DOCX, docx_form(new_request(0, contract_signed_date=""))),
            ("scan.docx", DOCX, b"PK\x03\x04 not a zip"),
        ]
    )
    assert rig.intake.parse("bad.eml", incomplete).verdict is Verdict.REJECTED


def test_an_email_held_for_too_many_forms_is_named_as_held_not_a_crash() -> None:
    rig = make_rig()
    rig.intake.limits = replace(rig.intake.limits, requests_per_email=1)
    raw = email(
        attachments=[
            ("one.docx", DOCX, docx_form(new_request(0))),
            ("two.docx", DOCX, docx_form(new_request(1))),
        ]
    )
    preview = rig.intake.parse("many.eml", raw)
    assert preview.verdict is Verdict.REJECTED and preview.summary.startswith("held for staff")
    # a file that cannot be read beside them changes nothing: the whole email is held
    damaged = email(
        attachments=[
            ("one.docx", DOCX, docx_form(new_request(0))),
            ("two.docx", DOCX, docx_form(new_request(1))),
            ("scan.docx", DOCX, b"PK\x03\x04 not a zip"),
        ]
    )
    assert rig.intake.parse("bad.eml", damaged).summary.startswith("held for staff")
    assert rig.ingest(raw).outcome is Kind.UNREADABLE  # as the poll holds it
    (reply,) = rig.contexts("unreadable")  # staff will reply: the sender is not asked again
    assert reply["held"]
    (letter,) = rig.composer.letters
    assert not letter.attachments  # no blank form: nothing is asked of the sender


def test_a_reply_with_too_many_forms_is_held_whole_as_a_new_email_is() -> None:
    rig = make_rig()
    rig.ingest(
        email(attachments=[("f.docx", DOCX, docx_form(new_request(0, contract_signed_date="")))])
    )
    (ack,) = rig.outbox()
    rig.intake.limits = replace(rig.intake.limits, requests_per_email=1)
    reply = email(
        subject="RE: " + SUBJECT,
        headers={"In-Reply-To": ack.message_id},
        attachments=[
            ("one.docx", DOCX, docx_form(new_request(0))),
            ("two.docx", DOCX, docx_form(new_request(1))),
        ],
    )
    assert rig.intake.parse("r.eml", reply).summary.startswith("held for staff")
    assert rig.ingest(reply).outcome is Kind.UNREADABLE
    (request,) = rig.store.memory.all(Request)  # nothing applied, nothing filed
    assert request.status == "incomplete"


def test_a_reply_with_a_file_that_cannot_be_read_is_not_called_accepted() -> None:
    # Whether a reply's form is applied depends on its sender and its request's status: a
    # file beside it that cannot be read keeps the preview from promising an acknowledgement.
    rig = make_rig()
    rig.ingest(email(attachments=[("f.docx", DOCX, docx_form(new_request(0)))]))
    (ack,) = rig.outbox()
    reply = email(
        subject="RE: " + SUBJECT,
        sender="someone.else@nhs.net",
        headers={"In-Reply-To": ack.message_id},
        attachments=[
            ("form.docx", DOCX, docx_form(new_request(0))),
            ("scan.docx", DOCX, b"PK\x03\x04 not a zip"),
        ],
    )
    preview = rig.intake.parse("reply.eml", reply)
    assert preview.outcome == Kind.REPLY and preview.verdict is Verdict.REJECTED
    assert "acknowledgement" not in preview.summary


def test_answers_typed_into_a_reply_are_judged_on_the_request_as_a_poll_applies_them() -> None:
    rig = make_rig()
    rig.ingest(
        email(attachments=[("f.docx", DOCX, docx_form(new_request(0, contract_signed_date="")))])
    )
    (ack,) = rig.outbox()
    (request,) = rig.store.memory.all(Request)
    assert request.status == "incomplete"

    def reply(line: str) -> bytes:
        body = f"Hello,\n\n{line}\n\nKind regards\nAisha\n"
        return email(subject="RE: " + SUBJECT, headers={"In-Reply-To": ack.message_id}, body=body)

    wrong = rig.intake.parse("wrong.eml", reply("Date the contract was signed: 31/13/2016"))
    assert wrong.verdict is Verdict.REJECTED and wrong.outcome == Kind.REPLY
    assert any("31/13/2016" in p for p in wrong.requests[0].problems)
    right = reply("Date the contract was signed: 15/03/2016")
    preview = rig.intake.parse("right.eml", right)
    assert preview.verdict is Verdict.ACCEPTED and preview.requests[0].complete
    rig.ingest(right)
    (request,) = rig.store.memory.all(Request)
    assert request.status == "triaged"  # as the preview said


def test_a_reply_is_judged_as_a_poll_applies_it_by_its_sender_and_its_requests_status() -> None:
    rig = make_rig()
    incomplete = docx_form(new_request(0, contract_signed_date=""))
    rig.ingest(email(attachments=[("f.docx", DOCX, incomplete)]))
    (ack,) = rig.outbox()
    damaged = ("scan.docx", DOCX, b"PK\x03\x04 not a zip")
    corrected = ("form.docx", DOCX, docx_form(new_request(0)))

    def reply(*attachments: tuple[str, str, bytes], sender: str = "aisha.khan@nhs.net") -> bytes:
        headers = {"In-Reply-To": ack.message_id}
        return email(
            subject="RE: " + SUBJECT, sender=sender, headers=headers, attachments=list(attachments)
        )

    stranger = rig.intake.parse("s.eml", reply(corrected, sender="someone.else@nhs.net"))
    assert stranger.verdict is Verdict.REJECTED and "none applied nor filed" in stranger.summary
    stranger = rig.intake.parse("s2.eml", reply(damaged, sender="someone.else@nhs.net"))
    assert "from someone who may not change it" in stranger.summary
    only_damaged = rig.intake.parse("d.eml", reply(damaged))
    assert only_damaged.verdict is Verdict.REJECTED and "no form read" in only_damaged.summary
    party = reply(corrected, damaged)
    preview = rig.intake.parse("p.eml", party)
    assert preview.verdict is Verdict.ACCEPTED and "named in the acknowledgement" in preview.summary
    rig.ingest(party)
    (request,) = rig.store.memory.all(Request)
    assert request.status == "triaged"  # applied, as the preview said
    again = rig.intake.parse("again.eml", reply(corrected))
    assert again.verdict is Verdict.REJECTED and "the request is triaged" in again.summary
    second = ("other.docx", DOCX, docx_form(new_request(1)))
    two = rig.intake.parse("two.eml", reply(corrected, second))
    assert "the first not applied" in two.summary
    assert "the other 1 filed as new request" in two.summary


def test_the_reply_to_an_email_held_for_too_many_forms_asks_for_nothing() -> None:
    from pathlib import Path

    from intake_bot.mail.render import Renderer

    rig = make_rig()
    rig.intake.notifier.renderer = Renderer(Path(__file__).resolve().parents[2] / "templates")
    rig.intake.limits = replace(rig.intake.limits, requests_per_email=1)
    forms = [(f"{n}.docx", DOCX, docx_form(new_request(n))) for n in (0, 1)]
    rig.ingest(email(attachments=[*forms, ("scan.docx", DOCX, b"PK\x03\x04 not a zip")]))
    (letter,) = rig.composer.letters
    rendered = letter.rendered
    assert rendered.subject.startswith("Your email is waiting for our staff - ")
    assert "none of them has been filed yet: our staff will review your email" in rendered.text
    for asked in ("Please fill in", "send it again", "could not read", "Not everything"):
        assert asked not in rendered.text, asked
