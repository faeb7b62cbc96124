"""MIME bytes become a clean ParsedMessage; broken or hostile input gives a clean result or a
MessageParseError, quickly; mail sent by machines is recognised."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from intake_bot.forms.message import (
    MAX_DEPTH,
    MAX_PARTS,
    automated_reason,
    decode_text,
    html_to_text,
    parse_message,
)
from intake_bot.forms.readings import MessageParseError

SUBJECT = "Data Services for Commissioners - Legitimate Relationships"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _email(body: str = "Please find the form attached.", **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "Alex Smith <Alex.Smith@Example.NHS.uk>")
    msg["To"] = headers.pop("To", "dsfc@example.org")
    msg["Subject"] = headers.pop("Subject", SUBJECT)
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def _raw(head: str, body: str = "body\r\n") -> bytes:
    """A message written by hand, for headers that EmailMessage would refuse to write."""
    return (head.strip("\n").replace("\n", "\r\n") + "\r\n\r\n" + body).encode("utf-8")


def _multipart(parts: list[bytes]) -> bytes:
    """A multipart/mixed message of the given raw parts."""
    body = b"".join(b"--XX\r\n" + part + b"\r\n" for part in parts) + b"--XX--\r\n"
    return b"From: a@example.org\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n" + body


# --- headers --------------------------------------------------------------------------------


def test_reads_sender_recipients_ids_and_date() -> None:
    msg = _email(
        To="dsfc@example.org, Other Person <Other@Example.org>",
        Reply_To="Team <Team@Example.NHS.uk>",
        Message_ID="<abc.123@mail.example>",
        In_Reply_To="<ack.1@intake.example>",
        References="<first@x> <ack.1@intake.example>",
        Date="Tue, 01 Mar 2016 09:30:00 +0000",
    )
    parsed = parse_message(msg.as_bytes())
    assert parsed.from_addr == "alex.smith@example.nhs.uk"
    assert parsed.from_name == "Alex Smith"
    assert parsed.to == ("dsfc@example.org", "other@example.org")
    assert parsed.reply_to == "team@example.nhs.uk"
    assert parsed.message_id == "<abc.123@mail.example>"
    assert parsed.in_reply_to == "<ack.1@intake.example>"
    assert parsed.references == ("<first@x>", "<ack.1@intake.example>")
    assert parsed.date == datetime(2016, 3, 1, 9, 30, tzinfo=UTC)
    assert parsed.automated is None


def test_decodes_encoded_and_folded_subject_and_sender_name() -> None:
    raw = _raw(
        "From: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <JOERG@example.de>\n"
        "Subject: =?utf-8?b?RGF0YSBTZXJ2aWNlcyBmb3IgQ29tbWlzc2lvbmVycyDigJM=?=\n"
        " Legitimate\n\tRelationships\n"
    )
    parsed = parse_message(raw)
    assert parsed.subject == "Data Services for Commissioners – Legitimate Relationships"
    assert parsed.from_name == "Jörg Müller"
    assert parsed.from_addr == "joerg@example.de"


def test_reads_raw_utf8_headers() -> None:
    parsed = parse_message(_raw("From: Jörg <jörg@example.de>\nSubject: Données – test"))
    assert parsed.subject == "Données – test"
    assert parsed.from_name == "Jörg"
    assert parsed.from_addr == "jörg@example.de"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Date: Tue, 1 Mar 2016 10:30:00 +0100", datetime(2016, 3, 1, 9, 30, tzinfo=UTC)),
        ("Date: Tue, 1 Mar 2016 09:30:00 -0000", datetime(2016, 3, 1, 9, 30, tzinfo=UTC)),
        ("Date: 1 Mar 2016 09:30 GMT", datetime(2016, 3, 1, 9, 30, tzinfo=UTC)),
        ("Date: yesterday-ish", None),
        ("Date: Tue, 1 Mar 99999 09:30:00 +0000", None),
        ("Date: ", None),
    ],
)
def test_date_is_aware_utc_or_none(header: str, expected: datetime | None) -> None:
    parsed = parse_message(_raw(f"From: a@example.org\n{header}"))
    assert parsed.date == expected
    if parsed.date is not None:
        assert parsed.date.utcoffset() == timedelta(0)


def test_date_keeps_the_instant_of_a_local_time() -> None:
    parsed = parse_message(_raw("From: a@example.org\nDate: Tue, 1 Mar 2016 09:30:00 +0530"))
    local = datetime(2016, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert parsed.date == local


def test_message_id_without_brackets_and_missing_headers() -> None:
    parsed = parse_message(_raw("From: a@example.org\nMessage-ID: bare-id@x"))
    assert parsed.message_id == "bare-id@x"
    assert parsed.subject == ""
    assert parsed.to == ()
    assert parsed.in_reply_to is None
    assert parsed.references == ()
    assert parsed.reply_to is None
    parsed = parse_message(_raw("Subject: no sender"))
    assert (parsed.from_addr, parsed.from_name, parsed.message_id) == ("", "", None)


@pytest.mark.parametrize(
    "head",
    [
        "From: " + "(" * 5000 + "a@example.org",
        'From: <<<<<@@@@>>>>, "unterminated\nTo: =?x-bogus?q?abc?= <a@b>',
        "From: a@example.org\nTo: " + "(" * 120_000,
        "From: a@example.org\nSubject: " + "=?utf-8?q?a?= " * 50_000,
        "From: a@example.org\nContent-Type: text/plain; charset=" + "(" * 5000,
        "From: a@example.org\nContent-Type: multipart/mixed; boundary=" + "(" * 5000,
        "From: a@example.org\nMessage-ID: <<<>>>\nReferences: " + "<a@b> " * 100_000,
        "From: a@example.org\nDate: " + "(" * 100_000,
    ],
)
def test_broken_headers_give_a_result_quickly(head: str) -> None:
    started = time.perf_counter()
    parsed = parse_message(_raw(head))
    assert time.perf_counter() - started < 2
    assert len(parsed.subject) <= 8_000
    assert len(parsed.references) <= 100


def test_unreadable_sender_is_recorded_as_a_defect() -> None:
    parsed = parse_message(_raw("From: " + "(" * 5000 + "a@example.org"))
    assert parsed.from_addr == ""
    assert any("from header" in defect for defect in parsed.defects)


# --- not an email -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   \r\n\r\n  ",
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 4,
        b"This is a note without any headers.\nJust text.\n",
    ],
)
def test_input_that_is_not_an_email_raises_message_parse_error(data: bytes) -> None:
    with pytest.raises(MessageParseError):
        parse_message(data)


def test_leading_blank_lines_do_not_hide_the_headers() -> None:
    assert parse_message(b"\r\n\r\nFrom: a@example.org\r\n\r\nhi").from_addr == "a@example.org"


# --- body -------------------------------------------------------------------------------------


def test_plain_text_is_preferred_to_html() -> None:
    msg = _email("Plain words")
    msg.add_alternative("<p>HTML <b>words</b></p>", subtype="html")
    assert parse_message(msg.as_bytes()).text_body.strip() == "Plain words"


def test_html_only_body_becomes_text() -> None:
    msg = _email()
    msg.set_content(
        "<html><head><style>p {color: red}</style><title>t</title></head><body>"
        "<p>Dear team,</p><script>alert(1)</script>"
        "<table><tr><td><p class=MsoNormal>Type of request</p></td><td><p>New</p></td></tr>"
        "<tr><td>DSCRO</td><td>North&nbsp;&amp; East</td></tr></table>"
        "<p>Thanks<br>Alex</p></body></html>",
        subtype="html",
    )
    body = parse_message(msg.as_bytes()).text_body
    assert body.splitlines() == [
        "Dear team,",
        "",
        "Type of request\tNew",
        "DSCRO\tNorth & East",
        "",
        "Thanks",
        "Alex",
    ]


def test_html_that_trips_the_parser_still_gives_text() -> None:
    assert "text" in html_to_text("<![if !supportLists]>text<![endif]><!unknown")


@pytest.mark.parametrize(
    ("charset", "data", "expected"),
    [
        ("iso-8859-1", "café".encode("latin-1"), "café"),
        ("windows-1252", "“quoted”".encode("cp1252"), "“quoted”"),
        ("x-no-such-charset", "café".encode(), "café"),  # unknown name: UTF-8 is tried
        ("x-no-such-charset", "café".encode("cp1252"), "café"),  # then Windows-1252
        ("us-ascii", "café".encode(), "café"),  # 8-bit text declared as ASCII
        ("idna", b"abc", "abc"),  # a codec that refuses errors="replace"
        ("base64", b"abc", "abc"),  # not a text encoding at all
        ("utf-8", b"caf\xe9", "caf\ufffd"),
        (None, b"plain", "plain"),
    ],
)
def test_text_is_decoded_whatever_the_charset_says(
    charset: str | None, data: bytes, expected: str
) -> None:
    assert decode_text(data, charset) == expected


def test_body_with_invalid_charset_is_read() -> None:
    raw = _raw(
        "From: a@example.org\nContent-Type: text/plain; charset=utf-99\n"
        "Content-Transfer-Encoding: 8bit",
        "Type of request: New – relationship\r\n",
    )
    assert parse_message(raw).text_body.strip() == "Type of request: New – relationship"


# --- attachments --------------------------------------------------------------------------------


def test_attachments_keep_name_type_data_and_inline_flag() -> None:
    msg = _email()
    msg.add_attachment(b"PK\x03\x04docx", "application", DOCX.split("/")[1], filename="form.docx")
    msg.add_attachment(b"\x89PNG", "image", "png", disposition="inline", cid="<logo@x>")
    msg.add_attachment(b"%PDF-1.4", "application", "pdf")
    parsed = parse_message(msg.as_bytes())
    assert [(a.filename, a.content_type, a.data, a.inline) for a in parsed.attachments] == [
        ("form.docx", DOCX, b"PK\x03\x04docx", False),
        ("attachment-1.png", "image/png", b"\x89PNG", True),
        ("attachment-2.pdf", "application/pdf", b"%PDF-1.4", False),
    ]
    assert parsed.text_body.strip() == "Please find the form attached."


@pytest.mark.parametrize(
    ("disposition", "name"),
    [
        ("attachment; filename*=UTF-8''%C3%A9t%C3%A9%20form.docx", "été form.docx"),
        ('attachment; filename="=?utf-8?b?w6l0w6kuZG9jeA==?="', "été.docx"),
        ('attachment; filename="C:\\\\Documents\\\\form.docx"', "form.docx"),
        ('attachment; filename="../../etc/form.docx"', "form.docx"),
        ('attachment; filename=".."', "attachment-1.bin"),
        ("attachment; filename*0=long-; filename*1=name.docx", "long-name.docx"),
    ],
)
def test_file_names_are_decoded_and_never_carry_a_path(disposition: str, name: str) -> None:
    raw = _raw(
        "From: a@example.org\nContent-Type: multipart/mixed; boundary=XX",
        "--XX\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        f"--XX\r\nContent-Type: application/octet-stream\r\nContent-Disposition: {disposition}\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\nQUJD\r\n--XX--\r\n",
    )
    parsed = parse_message(raw)
    assert [(a.filename, a.data) for a in parsed.attachments] == [(name, b"ABC")]


def test_forwarded_message_is_kept_and_its_attachments_surface() -> None:
    original = _email("Original request text", Subject="Original request")
    original.add_attachment(b"PK\x03\x04", "application", DOCX.split("/")[1], filename="form.docx")
    wrapper = _email("FYI, see the original below.", Subject="Fw: " + SUBJECT)
    wrapper.add_attachment(original)
    parsed = parse_message(wrapper.as_bytes())
    assert [a.filename for a in parsed.attachments] == ["forwarded-1.eml", "form.docx"]
    forwarded = BytesParser(policy=policy.default).parsebytes(parsed.attachments[0].data)
    assert forwarded["Subject"] == "Original request"
    assert parsed.attachments[0].content_type == "message/rfc822"
    assert parsed.text_body.strip() == "FYI, see the original below."  # not the forwarded text


def test_forwarded_message_sent_base64_encoded_is_decoded() -> None:
    original = _email("Original request text", Subject="Original request")
    original.add_attachment(b"%PDF-1.4", "application", "pdf", filename="form.pdf")
    encoded = base64.encodebytes(original.as_bytes())
    raw = _multipart(
        [
            b"Content-Type: text/plain\r\n\r\nSee the attached.",
            b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n"
            b'Content-Disposition: attachment; filename="request.eml"\r\n\r\n' + encoded,
        ]
    )
    parsed = parse_message(raw)
    assert [a.filename for a in parsed.attachments] == ["request.eml", "form.pdf"]
    assert parsed.attachments[0].data.startswith(b"From: Alex Smith")
    assert parsed.attachments[1].data == b"%PDF-1.4"


def test_a_forwarded_bounce_does_not_make_the_message_automated() -> None:
    bounce = _email("Delivery failed", From="MAILER-DAEMON@example.org", Subject="Undeliverable")
    bounce.replace_header("Content-Type", "multipart/report; report-type=delivery-status")
    wrapper = _email("Why did this bounce?", Subject="Fw: bounce")
    wrapper.add_attachment(bounce)
    assert parse_message(wrapper.as_bytes()).automated is None


def test_number_of_parts_walked_is_bounded() -> None:
    part = b"Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=f.pdf"
    started = time.perf_counter()
    parsed = parse_message(_multipart([part + b"\r\n\r\nx"] * 1500))
    assert time.perf_counter() - started < 3
    assert len(parsed.attachments) == MAX_PARTS - 1  # the root is a part too
    assert f"more than {MAX_PARTS} MIME parts: the rest not read" in parsed.defects


def _nested(levels: int) -> bytes:
    head, tail = b"", b""
    for level in range(levels):
        head += b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (level, level + 1)
        tail = b"\r\n--b%d--\r\n" % level + tail
    leaf = b"--b%d\r\nContent-Type: text/plain\r\n\r\ndeep text\r\n--b%d--\r\n" % (levels, levels)
    top = b"From: a@example.org\r\nSubject: deep\r\nContent-Type: multipart/mixed; boundary=b0"
    return top + b"\r\n\r\n" + head + leaf + tail


def test_depth_walked_is_bounded() -> None:
    assert parse_message(_nested(5)).text_body.strip() == "deep text"
    parsed = parse_message(_nested(MAX_DEPTH + 10))
    assert parsed.text_body == ""
    assert f"MIME parts nested deeper than {MAX_DEPTH}: not read" in parsed.defects


@pytest.mark.parametrize("levels", [1500, 3000])
def test_absurd_nesting_still_gives_the_headers_quickly(levels: int) -> None:
    started = time.perf_counter()
    parsed = parse_message(_nested(levels))
    assert time.perf_counter() - started < 3
    assert parsed.subject == "deep"
    assert any("body and attachments not read" in defect for defect in parsed.defects)


# --- automated mail -------------------------------------------------------------------------------


def _reason(msg: EmailMessage, own: tuple[str, ...] = ()) -> str | None:
    return parse_message(msg.as_bytes(), own_addresses=own).automated


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Auto-Submitted", "auto-replied"),
        ("Auto-Submitted", "auto-generated; type=vacation"),
        ("Precedence", "bulk"),
        ("Precedence", "Junk"),
        ("Precedence", "list"),
        ("Precedence", "auto_reply"),
        ("X-Autoreply", "yes"),
        ("X-Autorespond", "Out of office"),
        ("List-Id", "<commissioning.lists.example.org>"),
        ("List-Unsubscribe", "<mailto:leave@lists.example.org>"),
        ("Return-Path", "<>"),
        ("X-Intake-Bot", "1"),
    ],
)
def test_robot_headers_mark_mail_as_automated(name: str, value: str) -> None:
    assert _reason(_email(**{name.replace("-", "_"): value}))


@pytest.mark.parametrize("value", ["All", "DR, RN, NRN, OOF, AutoReply"])
def test_auto_response_suppress_asks_for_no_reply_but_is_a_person(value: str) -> None:
    parsed = parse_message(_email(X_Auto_Response_Suppress=value).as_bytes())
    assert parsed.automated is None
    assert parsed.wants_no_auto_reply


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Auto-Submitted", "no"),
        ("Precedence", "first-class"),
        ("X-Autoreply", "no"),
        ("X-Auto-Response-Suppress", "RN, NRN"),
        ("Return-Path", "<alex.smith@example.nhs.uk>"),
    ],
)
def test_harmless_values_of_those_headers_do_not(name: str, value: str) -> None:
    assert _reason(_email(**{name.replace("-", "_"): value})) is None


@pytest.mark.parametrize(
    "sender",
    [
        "MAILER-DAEMON@mail.example.org",
        "Mail Delivery System <Mailer-Daemon@example.org>",
        "postmaster@example.org",
        "noreply@example.org",
        "no-reply@example.org",
        "do-not-reply@example.org",
        "donotreply@example.org",
        "notifications-noreply@example.org",
        "bounces+12345@lists.example.org",
        "bounce@example.org",
    ],
)
def test_robot_senders_mark_mail_as_automated(sender: str) -> None:
    assert _reason(_email(From=sender))


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: " + SUBJECT,
        "Auto-Reply: " + SUBJECT,
        "AutoReply: your message",
        "Out of Office: " + SUBJECT,
        "Out of the office until Monday",
        "Undeliverable: " + SUBJECT,
        "Undelivered Mail Returned to Sender",
        "Delivery Status Notification (Failure)",
        "Returned mail: see transcript for details",
        "Mail delivery failed: returning message to sender",
        "[EXTERNAL] Automatic reply: " + SUBJECT,
        "Abwesenheitsnotiz: " + SUBJECT,
    ],
)
def test_robot_subjects_mark_mail_as_automated(subject: str) -> None:
    assert _reason(_email(Subject=subject))


def test_delivery_reports_mark_mail_as_automated() -> None:
    msg = _email("Your message could not be delivered.")
    msg.replace_header("Content-Type", "multipart/report; report-type=delivery-status")
    assert _reason(msg) == "delivery or read report (multipart/report)"


def test_mail_from_our_own_address_is_automated() -> None:
    msg = _email(From="Data Services <DSFC@Example.org>")
    assert _reason(msg, own=("dsfc@example.org",)) == "sent from the bot's own address"
    assert _reason(msg, own=("someone-else@example.org",)) is None


@pytest.mark.parametrize(
    ("sender", "subject"),
    [
        ("alex.smith@example.nhs.uk", SUBJECT),
        ("alex.smith@example.nhs.uk", "RE: " + SUBJECT),
        ("reply.desk@example.nhs.uk", "Replying about our relationship"),
        ("bouncer@example.nhs.uk", "Out-of-area commissioning"),
        ("postmaster.general@example.nhs.uk", "Automatically renewed contracts"),
    ],
)
def test_a_person_writing_is_not_automated(sender: str, subject: str) -> None:
    assert _reason(_email(From=sender, Subject=subject)) is None


def test_automated_reason_works_on_a_parsed_message() -> None:
    msg = BytesParser(policy=policy.default).parsebytes(_email(Precedence="bulk").as_bytes())
    assert automated_reason(msg, ()) == "Precedence: bulk"
