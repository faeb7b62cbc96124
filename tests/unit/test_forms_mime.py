"""The MIME walk on its own: parts in document order, with their depth and whether they sit
inside a forwarded message; bytes that are too much are left unparsed and said so."""

from __future__ import annotations

from intake_bot.forms.mime import MAX_MESSAGE_BYTES, MAX_PART_HEADERS, parse_mime, walk

FORWARD = (
    b"From: a@example.org\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
    b"--XX\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n"
    b"--XX\r\nContent-Type: message/rfc822\r\n\r\n"
    b"From: b@example.org\r\nContent-Type: text/html\r\n\r\n<p>inner</p>\r\n"
    b"--XX--\r\n"
)


def test_parts_come_in_document_order_with_depth_and_forwarded_flag() -> None:
    defects: list[str] = []
    msg, complete = parse_mime(FORWARD, defects)

    parts = [(p.content_type, p.depth, p.forwarded, len(p.children)) for p in walk(msg, defects)]

    assert complete and defects == []
    assert parts == [
        ("multipart/mixed", 0, False, 2),
        ("text/plain", 1, False, 0),
        ("message/rfc822", 1, False, 1),
        ("text/html", 2, True, 0),
    ]


def test_a_message_with_too_many_parts_keeps_only_its_headers() -> None:
    head = b"Subject: many\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
    part = b"--XX\r\nContent-Type: text/plain\r\n\r\nx\r\n"
    defects: list[str] = []

    msg, complete = parse_mime(head + part * (MAX_PART_HEADERS + 1), defects)

    assert not complete and msg["subject"] == "many"
    assert defects == [f"more than {MAX_PART_HEADERS} MIME parts: body and attachments not read"]


def test_a_message_over_the_byte_limit_keeps_only_its_headers() -> None:
    defects: list[str] = []

    msg, complete = parse_mime(b"Subject: big\r\n\r\n" + b"x" * MAX_MESSAGE_BYTES, defects)

    assert not complete and msg["subject"] == "big"
    assert defects == [f"message over {MAX_MESSAGE_BYTES} bytes: body and attachments not read"]


def test_a_body_that_only_mentions_content_type_often_is_still_read() -> None:
    # The quick count finds more than the limit, the line-start scan only two part headers.
    text = b"see content-type: and Content-Type: here " * MAX_PART_HEADERS
    raw = (
        b"Subject: chatty\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
        b"--XX\r\nContent-Type: text/plain\r\n\r\n" + text + b"\r\n--XX--\r\n"
    )
    defects: list[str] = []

    msg, complete = parse_mime(raw, defects)

    assert complete and defects == []
    assert [p.content_type for p in walk(msg, defects)] == ["multipart/mixed", "text/plain"]
