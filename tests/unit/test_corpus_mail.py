"""Every real-world email in the corpus gives a ParsedMessage or a MessageParseError, never
anything else, and quickly; real bounces and auto-replies are recognised as automated."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from intake_bot.forms.message import parse_message
from intake_bot.forms.readings import MessageParseError, ParsedMessage

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("INTAKE_BOT_CORPUS") or REPO_ROOT.parent / "shared" / "corpus")
MAIL = CORPUS / "mail"
BOUNCES = MAIL / "other" / "sisimai-bounces"
SECONDS_PER_MESSAGE = 10
MIN_AUTOMATED_SHARE = 0.9


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        reason = f"mail corpus not found at {folder} (set INTAKE_BOT_CORPUS)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return sorted(path for path in folder.rglob("*") if path.is_file())


def _parse(path: Path) -> ParsedMessage | None:
    try:
        return parse_message(path.read_bytes())
    except MessageParseError:
        return None  # a clean rejection; any other exception fails the test


def test_every_mail_file_gives_a_clean_result_quickly() -> None:
    files = _files(MAIL)
    assert len(files) > 1000
    timings: list[tuple[float, str]] = []
    rejected = []
    for path in files:
        started = time.perf_counter()
        parsed = _parse(path)
        took = time.perf_counter() - started
        name = str(path.relative_to(MAIL))
        assert took < SECONDS_PER_MESSAGE, f"{name} took {took:.1f} s"
        timings.append((took, name))
        if parsed is None:
            rejected.append(name)
    slowest = sorted(timings, reverse=True)[:3]
    print(f"\n{len(files)} mail files, {len(rejected)} rejected as not email: {rejected}")
    print("slowest: " + ", ".join(f"{name} {took * 1000:.0f} ms" for took, name in slowest))
    assert len(rejected) < len(files) * 0.02


def test_bounces_and_auto_replies_are_recognised_as_automated() -> None:
    files = _files(BOUNCES)
    missed = []
    for path in files:
        parsed = _parse(path)
        if parsed is None or not parsed.automated:
            missed.append(path.name)
    share = 1 - len(missed) / len(files)
    print(f"\n{len(files) - len(missed)} of {len(files)} automated ({share:.1%}); missed: {missed}")
    assert share >= MIN_AUTOMATED_SHARE


def test_most_ordinary_mail_is_not_taken_for_a_robot() -> None:
    # The other sets are ordinary mail, spam and MIME test cases, with a few reports among them.
    files = [path for path in _files(MAIL) if BOUNCES not in path.parents]
    parsed = [message for message in map(_parse, files) if message is not None]
    automated = [message for message in parsed if message.automated]
    print(f"\n{len(automated)} of {len(parsed)} other messages automated")
    assert len(automated) < len(parsed) * 0.2
