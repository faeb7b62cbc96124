from __future__ import annotations

import random
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default

import pytest

from intake_bot.mail.compose import FileToAttach, compose
from intake_bot.mail.render import Rendered

NOW = datetime(2016, 4, 1, 9, tzinfo=UTC)


def _text(msg, subtype: str) -> str:  # type: ignore[no-untyped-def]
    return str(msg.get_body((subtype,)).get_content()).replace("\r\n", "\n")


def _parse(raw: bytes):  # type: ignore[no-untyped-def]
    return message_from_bytes(raw, policy=default)


def test_threaded_automatic_reply_with_text_and_html() -> None:
    out = compose(
        Rendered("[LR-000001] Request received", "Hello\n", "<p>Hello</p>"),
        sender="dsfc@example.nhs.uk",
        sender_name="DSfC",
        to=["a@nhs.net"],
        now=NOW,
        in_reply_to="<orig@nhs.net>",
        references=["<older@nhs.net>"],
    )
    msg = _parse(out.raw)
    assert str(msg["Message-ID"]) == out.message_id
    assert str(msg["In-Reply-To"]) == "<orig@nhs.net>"
    assert str(msg["References"]) == "<older@nhs.net> <orig@nhs.net>"
    assert msg["Auto-Submitted"] == "auto-replied" and msg["X-Auto-Response-Suppress"] == "All"
    # On the wire every line ends in CRLF, the body's too.
    assert _text(msg, "plain") == "Hello\n"
    assert _text(msg, "html") == "<p>Hello</p>"
    assert b"\r\n" in out.raw and b"\n" not in out.raw.replace(b"\r\n", b"")


def test_non_ascii_and_very_long_lines_survive_the_trip() -> None:
    long_line = "x" * 3000
    out = compose(
        Rendered("Réponse – é", f"Dear Zoë\n{long_line}\n", "<p>é</p>"),
        sender="dsfc@example.nhs.uk",
        sender_name="Équipe",
        to=["a@nhs.net"],
        now=NOW,
        attachments=[FileToAttach("blank.docx", "application/octet-stream", b"PK\x03\x04")],
    )
    assert all(len(line) <= 998 for line in out.raw.split(b"\r\n"))
    msg = _parse(out.raw)
    assert str(msg["Subject"]) == "Réponse – é"
    assert _text(msg, "plain") == f"Dear Zoë\n{long_line}\n"
    (attached,) = list(msg.iter_attachments())
    assert attached.get_filename() == "blank.docx" and attached.get_content() == b"PK\x03\x04"


_LETTERS = [
    # (subject, text, html, sender name, references)
    ("[LR-000001] Request received", "Hello\n\nThanks\n", "<p>Hello</p>\n", "DSfC", ()),
    ("Re: x", "no newline at the end", "<p>a</p>", "Team, DSfC", ("<a@b>",) * 20),
    ("Re: x", "CRLF\r\nand CR\rand LF\n", "<p>caf\u00e9</p>\n", "DSfC", ()),  # base64 HTML
    ("Re: x", "--===============1==\n", "<p>x</p>", "DSfC", ()),  # a boundary-like line
    ("Caf\u00e9 request", "Hello\n", "<p>Hello</p>", "DSfC", ()),  # encoded subject
    ("Two  spaces", "Hello\n", "<p>Hello</p>", "S\u00f8ren", ()),  # encoded name
    ("Re: x", "x" * 1200 + "\n", "<p>x</p>", "DSfC", ()),  # a line over 998: base64
]


def test_an_email_written_directly_is_byte_for_byte_what_the_generator_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The direct writer (`_plain_bytes`) stands in for `as_bytes` on plain acknowledgements;
    anything it cannot write exactly it leaves to the generator."""
    from intake_bot.mail import compose as composing

    monkeypatch.setattr(composing, "make_msgid", lambda **_: "<1.intake-bot@example.nhs.uk>")
    direct = composing._plain_bytes
    written: list[bool] = []

    def counting(msg):  # type: ignore[no-untyped-def]
        raw = direct(msg)
        written.append(raw is not None)
        return raw

    for subject, text, html, name, refs in _LETTERS:
        outputs = []
        for writer in (counting, lambda msg: None):
            monkeypatch.setattr(composing, "_plain_bytes", writer)
            random.seed(12)  # the same MIME boundary for both
            out = composing.compose(
                Rendered(subject, text, html),
                sender="dsfc@example.nhs.uk",
                sender_name=name,
                to=["a@nhs.net", "b@nhs.net"],
                now=NOW,
                in_reply_to="<orig@nhs.net>",
                references=refs,
            )
            outputs.append(out.raw)
        assert outputs[0] == outputs[1], subject
    assert written[:4] == [True] * 4 and not all(written)  # both ways taken


def test_the_boundary_is_drawn_again_when_a_body_holds_it() -> None:
    random.seed(7)
    first = f"{'=' * 15}{random.randrange(2**63 - 1):019d}=="
    text = f"A value that happens to hold {first} mid-line\n"

    random.seed(7)
    out = compose(
        Rendered("[LR-000001] Request received", text, "<p>Hello</p>"),
        sender="dsfc@example.nhs.uk",
        sender_name="DSfC",
        to=["a@nhs.net"],
        now=NOW,
    )

    boundary = _parse(out.raw).get_boundary()
    assert boundary and boundary != first and boundary not in text
    assert _text(_parse(out.raw), "plain") == text
