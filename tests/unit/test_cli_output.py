"""What the CLI prints from stored data never carries a terminal escape or control character."""

from __future__ import annotations

import json

import pytest

from intake_bot.cli import common

HOSTILE = "NHS Leeds\x1b]0;pwned\x07 CCG\x1b[2J\x9b31m\u202eevil"


def test_tables_and_prints_drop_escape_sequences(capsys: pytest.CaptureFixture[str]) -> None:
    common.table("Queue", ["about"], [[HOSTILE]])
    common.console.print(HOSTILE)
    out = capsys.readouterr().out
    assert "NHS Leeds" in out and "CCG" in out
    for bad in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert bad not in out


def test_json_output_escapes_what_json_leaves_raw(capsys: pytest.CaptureFixture[str]) -> None:
    common.print_json({"about": HOSTILE})
    out = capsys.readouterr().out
    for bad in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert bad not in out
    assert json.loads(out)["about"] == HOSTILE  # escaped, not lost: staff can still see it


def test_plain_styled_text_follows_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    """`parse` and error lines print without rich; they honour NO_COLOR as rich's output does."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert common.style("rejected", fg="yellow") == "\x1b[33mrejected\x1b[0m"
    monkeypatch.setenv("NO_COLOR", "1")
    assert common.style("rejected", fg="yellow") == "rejected"
    monkeypatch.setenv("NO_COLOR", "")  # an empty NO_COLOR asks for nothing (no-color.org)
    assert common.style("rejected", fg="yellow") != "rejected"
