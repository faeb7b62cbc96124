"""A reply to a request files no request of its own: the poll summary names the request it
was about apart from the requests filed (a form further in the reply is filed anew)."""

from __future__ import annotations

import pytest

from intake_bot.cli.run import _print_poll
from intake_bot.domain.polls import PollReport


def test_a_reply_is_counted_as_about_its_request_not_as_one_filed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = PollReport(examined=3)
    report.count("reply", ["LR-000008"], 1, reply=True)
    report.count("reply", ["LR-000009", "LR-000011"], 2, reply=True)  # and a further form
    report.count("filed", ["LR-000010"], 1)
    other = PollReport(examined=1)
    other.count("reply", ["LR-000012"], 0, reply=True)
    report.add(other)

    assert report.references == ["LR-000011", "LR-000010"]
    assert report.threaded == ["LR-000008", "LR-000009", "LR-000012"]
    _print_poll(report)
    out = " ".join(capsys.readouterr().out.split())
    assert "2 request(s) filed (LR-000011, LR-000010)" in out
    assert "replies about LR-000008, LR-000009, LR-000012" in out


def test_a_reply_alone_files_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    report = PollReport(examined=1)
    report.count("reply", ["LR-000008"], 1, reply=True)
    _print_poll(report)
    out = " ".join(capsys.readouterr().out.split())
    assert "0 request(s) filed; replies about LR-000008" in out
