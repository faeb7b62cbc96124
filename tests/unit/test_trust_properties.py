"""Property-based tests (hypothesis) of the readers hostile mail reaches first: the From parser,
header decoding, the subject test, the NHS-number detector and the printable-text cleaner.
Whatever the input, none raises anything (the project's own errors are values here)."""

from __future__ import annotations

import contextlib
import unicodedata
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32

from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.gb.nhs import is_valid

from intake_bot.domain.patient_data import holds_nhs_number, where_nhs_numbers_are
from intake_bot.domain.printable import clean_line, clean_text
from intake_bot.domain.sender import canonical_address, dmarc_concern
from intake_bot.domain.subject import strip_prefixes, subject_matches
from intake_bot.forms.headers import (
    Headers,
    all_ids,
    decode_words,
    first_id,
    parse_date,
    unverified_from,
)
from intake_bot.forms.message import parse_message
from intake_bot.forms.readings import MessageParseError
from intake_bot.forms.robots import automated_reason

# Text as it comes in headers: any character, weighted towards the ones parsers trip on.
TRICKY = st.lists(
    st.sampled_from([*'<>@"(),;:\\.[]=?_ \t\r\n\x00\x1b\u202eaZ09-+é', "=?utf-8?q?", "=?x?b?"]),
    max_size=80,
).map("".join)
ANY_TEXT = st.one_of(st.text(max_size=300), TRICKY)
_LATIN = "".join(chr(c) for c in range(32, 127))
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def _message(name: str, value: str) -> Message:
    safe = value.replace("\r", " ").replace("\n", " ")
    raw = f"{name}: {safe}\r\nSubject: x\r\n\r\nbody\r\n".encode("utf-8", "surrogateescape")
    return BytesParser(policy=compat32).parsebytes(raw)


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_the_from_parser_never_raises_and_flags_what_it_cannot_prove(value: str) -> None:
    defects: list[str] = []
    headers = Headers(_message("From", value), defects)
    found = headers.first_address("from")
    problem = unverified_from(defects)
    if found is None:
        assert problem is not None  # no address is never a verified sender
    else:
        address, _ = found
        assert address == address.lower()


@settings(max_examples=200, deadline=None)
@given(st.emails(), st.emails(), st.text(alphabet=_LATIN, max_size=20))
def test_a_display_name_holding_another_address_is_never_verified(
    real: str, shown: str, extra: str
) -> None:
    if real.lower() == shown.lower():
        return
    for value in (f'"{shown}" <{real}>', f"{shown} <{real}>", f'"{extra} {shown}" <{real}>'):
        defects: list[str] = []
        Headers(_message("From", value), defects).first_address("from")
        assert unverified_from(defects) is not None, value


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_header_decoding_never_raises(value: str) -> None:
    decode_words(value)
    first_id(value)
    all_ids(value)
    parse_date(value)
    headers = Headers(_message("Subject", value), [])
    headers.text("subject")
    headers.raw("subject")
    automated_reason(_message("Subject", value), ())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_parsing_any_bytes_raises_only_the_projects_own_error(raw: bytes) -> None:
    with contextlib.suppress(MessageParseError):
        parse_message(raw)


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT, ANY_TEXT)
def test_the_subject_test_never_raises(subject: str, watched: str) -> None:
    strip_prefixes(subject)
    assert isinstance(subject_matches(subject, watched), bool)
    assert subject_matches(
        "RE: " + subject + " Data Services for Commissioners - Legitimate Relationships",
        "Data Services for Commissioners - Legitimate Relationships",
    )


@settings(max_examples=300, deadline=None)
@given(
    ANY_TEXT, st.dictionaries(st.text(max_size=10), st.one_of(st.none(), st.booleans(), ANY_TEXT))
)
def test_the_nhs_number_detector_never_raises(text: str, values: dict[str, object]) -> None:
    holds_nhs_number(text, is_valid)
    where_nhs_numbers_are(is_valid, subject=text, body=text, forms=[("f", values)])


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=9_999_999_999), st.sampled_from(["", " ", "-"]))
def test_the_detector_agrees_with_the_library_on_every_ten_digit_number(
    number: int, sep: str
) -> None:
    digits = f"{number:010d}"
    spaced = f"{digits[:3]}{sep}{digits[3:6]}{sep}{digits[6:]}"
    assert holds_nhs_number(f"ref {spaced}.", is_valid) == is_valid(digits)


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_cleaned_text_holds_no_control_character(text: str) -> None:
    line, body = clean_line(text), clean_text(text)
    assert not any(unicodedata.category(c) == "Cc" or c in BIDI for c in line)
    assert not any(c not in "\n\t" and (unicodedata.category(c) == "Cc" or c in BIDI) for c in body)
    assert "\x1b" not in body and "\r" not in body


@settings(max_examples=200, deadline=None)
@given(ANY_TEXT, ANY_TEXT)
def test_sender_policy_never_raises(header: str, address: str) -> None:
    canonical_address(address)
    dmarc_concern([header], "mx.example", address.rpartition("@")[2])
