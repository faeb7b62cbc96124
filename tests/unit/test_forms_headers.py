"""Header values of a parsed message, read one at a time: decoded, or their raw text kept, with
each problem noted once for staff."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesParser

from intake_bot.forms.defects import MAX_DEFECTS, add_defect
from intake_bot.forms.headers import (
    MAX_HEADER_CHARS,
    MAX_REFERENCES,
    Headers,
    all_ids,
    decode_words,
    first_id,
    parse_date,
)


def _message(head: str) -> Message:
    raw = head.strip("\n").replace("\n", "\r\n").encode("utf-8") + b"\r\n\r\nbody\r\n"
    return BytesParser(policy=policy.compat32).parsebytes(raw)


def test_text_decodes_encoded_words_and_unfolds() -> None:
    headers = Headers(_message("Subject: =?utf-8?q?Caf=C3=A9?=\n\tfolded"), [])

    assert headers.text("subject") == "Café folded"
    assert headers.raw("SUBJECT") == "=?utf-8?q?Caf=C3=A9?= folded"
    assert headers.has("Subject") and not headers.has("Date")


def test_addresses_are_bare_and_lower_cased_with_their_display_names() -> None:
    msg = _message('To: "Smith, Alex" <Alex.Smith@Example.NHS.uk>, other@example.org')

    headers = Headers(msg, [])

    assert headers.addresses("to") == [
        ("alex.smith@example.nhs.uk", "Smith, Alex"),
        ("other@example.org", ""),
    ]
    assert headers.first_address("to") == ("alex.smith@example.nhs.uk", "Smith, Alex")
    assert headers.first_address("cc") is None


def test_an_address_header_too_long_to_parse_is_read_leniently_and_noted() -> None:
    padding = "x" * MAX_HEADER_CHARS
    defects: list[str] = []

    found = Headers(_message(f"From: {padding} <alex@example.org>"), defects).addresses("from")

    assert found == [("alex@example.org", padding)]
    assert defects == [f"from header over {MAX_HEADER_CHARS} characters"]


def test_message_ids_are_taken_with_their_brackets_and_references_are_capped() -> None:
    many = " ".join(f"<id{n}@x>" for n in range(MAX_REFERENCES + 5))

    assert first_id("  <a@b> (comment) <c@d>") == "<a@b>"
    assert first_id("no-brackets@x") == "no-brackets@x"
    assert first_id("") is None
    assert all_ids(many)[0] == "<id5@x>" and len(all_ids(many)) == MAX_REFERENCES


def test_dates_are_utc_and_nonsense_is_none() -> None:
    assert parse_date("Tue, 1 Mar 2016 10:00:00 +0100") == datetime(2016, 3, 1, 9, tzinfo=UTC)
    assert parse_date("Tue, 1 Mar 2016 10:00:00 -0000") == datetime(2016, 3, 1, 10, tzinfo=UTC)
    assert parse_date("yesterday") is None


def test_encoded_words_that_cannot_be_decoded_are_kept_as_they_are() -> None:
    assert decode_words("=?x-no-such-charset?q?abc?=") == "=?x-no-such-charset?q?abc?="
    assert decode_words("=?utf-8?b?SmFuZQ==?=") == "Jane"


def test_each_defect_is_noted_once_and_the_list_is_bounded() -> None:
    defects: list[str] = []

    for n in range(MAX_DEFECTS + 10):
        add_defect(defects, "same")
        add_defect(defects, f"defect {n}")

    assert defects.count("same") == 1
    assert len(defects) == MAX_DEFECTS


def test_an_address_header_is_parsed_once_however_often_it_is_read(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    parsed: list[str] = []
    structured = Headers._structured

    def counting(name: str, value: str):  # type: ignore[no-untyped-def]
        parsed.append(name.lower())
        return structured(name, value)

    monkeypatch.setattr(Headers, "_structured", staticmethod(counting))
    headers = Headers(_message("From: Alex <alex@example.org>\nTo: b@example.org"), [])

    first = headers.addresses("from")
    first.append(("changed@example.org", ""))  # a caller's list is its own
    assert headers.first_address("From") == ("alex@example.org", "Alex")
    assert headers.addresses("FROM") == [("alex@example.org", "Alex")]
    assert headers.addresses("to") == [("b@example.org", "")]
    assert parsed == ["from", "to"]


def test_header_objects_are_what_policy_default_builds() -> None:
    head = (
        'From: "Smith, Alex" <alex@example.org>\nTo: a@x.org, "B" <b@y.org>\n'
        "Subject: =?utf-8?q?Caf=C3=A9?=\nReply-To: <r@z.org>"
    )
    raw = head.replace("\n", "\r\n").encode() + b"\r\n\r\nbody\r\n"
    modern = BytesParser(policy=policy.default).parsebytes(raw)

    for name in ("from", "to", "reply-to", "subject", "from"):  # twice: a kept class
        ours = Headers._structured(name, str(_message(head)[name]))
        assert str(ours) == str(modern[name])
        assert type(ours).__mro__[1:] == type(modern[name]).__mro__[1:]
