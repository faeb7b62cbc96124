"""Outlook's winmail.dat is unpacked into its files, and a hostile one costs a bounded time."""

from __future__ import annotations

import os
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from intake_bot.forms.message import parse_message
from intake_bot.forms.readings import Attachment
from intake_bot.forms.tnef import (
    TIME_LIMIT_SECONDS,
    TNEF_SIGNATURE,
    decode_frames,
    encode_frames,
    unpack_tnef,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("INTAKE_BOT_CORPUS") or REPO_ROOT.parent / "shared" / "corpus")
TNEF_DIR = CORPUS / "office" / "poi" / "hmef-winmail-tnef"
HOSTILE = "oom.tnef"  # a fuzzer-found stream that sends tnefparse into a long loop


def _tnef_file(name: str) -> bytes:
    path = TNEF_DIR / name
    if not path.is_file():
        reason = f"TNEF samples not found at {TNEF_DIR} (set INTAKE_BOT_CORPUS)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path.read_bytes()


def test_every_corpus_sample_unpacks_or_gives_nothing_within_the_limit() -> None:
    _tnef_file("quick-winmail.dat")  # skips, or fails under CI, when the corpus is missing
    names = sorted(path.name for path in TNEF_DIR.glob("*") if path.name != HOSTILE)
    found: dict[str, list[Attachment]] = {}
    for name in names:
        started = time.perf_counter()
        found[name] = unpack_tnef(_tnef_file(name))
        assert time.perf_counter() - started < TIME_LIMIT_SECONDS + 2, name
    print({name: [a.filename for a in files] for name, files in found.items()})
    assert sum(1 for files in found.values() if files) >= 3


def test_outlook_sample_gives_its_files_with_names_and_types() -> None:
    files = unpack_tnef(_tnef_file("quick-winmail.dat"))
    assert [(a.filename, a.content_type) for a in files] == [
        ("quick.doc", "application/msword"),
        ("quick.html", "text/html"),
        ("quick.pdf", "application/pdf"),
        ("quick.txt", "text/plain"),
        ("quick.xml", "application/xml"),
    ]
    assert files[2].data.startswith(b"%PDF")
    assert not any(a.inline for a in files)


def test_hostile_sample_is_given_up_after_the_time_limit() -> None:
    started = time.perf_counter()
    assert unpack_tnef(_tnef_file(HOSTILE)) == []
    assert time.perf_counter() - started < TIME_LIMIT_SECONDS + 2


@pytest.mark.parametrize(
    "data", [b"", b"not tnef at all", b"%PDF-1.4", TNEF_SIGNATURE, TNEF_SIGNATURE + b"\0" * 64]
)
def test_non_tnef_or_empty_stream_gives_nothing(data: bytes) -> None:
    assert unpack_tnef(data) == []


def test_frames_round_trip_and_refuse_cut_data() -> None:
    files = [Attachment("a.docx", "application/x", b"\x00\x01"), Attachment("é.txt", "t/p", b"")]
    framed = encode_frames(files)
    assert decode_frames(framed) == files
    assert decode_frames(framed[:-1]) == []
    assert decode_frames(b"") == []


def _with_winmail(data: bytes) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Alex <alex@example.nhs.uk>"
    msg["Subject"] = "Data Services for Commissioners - Legitimate Relationships"
    msg.set_content("Please see attached.")
    msg.add_attachment(data, "application", "ms-tnef", filename="winmail.dat")
    return msg.as_bytes()


def test_message_with_winmail_dat_carries_the_files_inside_it() -> None:
    parsed = parse_message(_with_winmail(_tnef_file("bug52400-winmail-with-attachments.dat")))
    assert [a.filename for a in parsed.attachments] == [
        "scion_tc_2007_maintenanceguide.pdf",
        "Duke_Wave.png",
    ]
    assert parsed.text_body.strip() == "Please see attached."


def test_message_keeps_a_winmail_dat_that_cannot_be_unpacked() -> None:
    parsed = parse_message(_with_winmail(TNEF_SIGNATURE + b"\x01\x00" + b"\xff" * 40))
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("winmail.dat", "application/ms-tnef")
    ]
    assert "winmail.dat could not be unpacked: kept as it is" in parsed.defects
