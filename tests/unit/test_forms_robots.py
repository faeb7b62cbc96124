"""Robot detection on its own: which sign of a machine is named, and the wish for no reply."""

from __future__ import annotations

from email import policy
from email.message import Message
from email.parser import BytesParser

from intake_bot.forms.headers import Headers
from intake_bot.forms.robots import OWN_HEADER, automated_reason, wants_no_auto_reply


def _message(head: str, body: str = "body") -> Message:
    raw = head.strip("\n").replace("\n", "\r\n") + "\r\n\r\n" + body + "\r\n"
    return BytesParser(policy=policy.compat32).parsebytes(raw.encode("utf-8"))


def test_our_own_mail_is_named_before_any_other_sign() -> None:
    msg = _message(f"From: noreply@example.org\n{OWN_HEADER}: 1\nPrecedence: bulk")

    assert automated_reason(msg, ()) == f"sent by this bot ({OWN_HEADER})"


def test_own_addresses_are_compared_without_case_or_spaces() -> None:
    msg = _message("From: DSFC <DSfC@Example.org>")

    assert automated_reason(msg, [" dsfc@EXAMPLE.org "]) == "sent from the bot's own address"


def test_header_signs_come_before_the_sender_and_the_subject() -> None:
    msg = _message(
        "From: noreply@example.org\nSubject: Out of office\nAuto-Submitted: auto-replied"
    )

    assert automated_reason(msg, ()) == "Auto-Submitted: auto-replied"


def test_a_report_part_is_found_by_walking_the_message() -> None:
    msg = _message(
        "From: postmaster@example.org\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
        "--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.0.0\r\n--b--",
    )

    assert automated_reason(msg, ()) == "delivery or read report (multipart/report)"


def test_only_the_local_part_of_the_sender_is_judged() -> None:
    robot = _message("From: no-reply@example.org")
    person = _message("From: alex@noreply.example.org")

    assert automated_reason(robot, ()) == "sent from a robot address (no-reply)"
    assert automated_reason(person, ()) is None


def test_subjects_are_judged_after_reply_and_tag_prefixes() -> None:
    msg = _message("From: alex@example.org\nSubject: [EXTERNAL] RE: Automatic reply: hello")

    assert automated_reason(msg, ()) == "subject starts 'Automatic reply'"


def test_suppressing_automatic_replies_is_a_wish_not_a_robot() -> None:
    msg = _message("From: alex@example.org\nX-Auto-Response-Suppress: OOF, DR")

    assert wants_no_auto_reply(Headers(msg, []))
    assert automated_reason(msg, ()) is None
    assert not wants_no_auto_reply(Headers(_message("X-Auto-Response-Suppress: RN, NRN"), []))
