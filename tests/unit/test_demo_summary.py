"""The poll summary that `demo` and `run --once` print counts messages and requests apart."""

from __future__ import annotations

import pytest

from intake_bot.cli.run import _print_poll
from intake_bot.domain.polls import PollReport


def test_a_bulk_spreadsheet_is_one_message_and_several_requests(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = PollReport(
        examined=5,
        not_ours=1,
        outcomes={"filed": 2, "enquiry": 1, "automated": 1},
        references=["LR-000001", "LR-000002", "LR-000003", "LR-000004"],
        replies=3,
    )
    _print_poll(report)
    out = " ".join(capsys.readouterr().out.split())
    assert "examined 5 new message(s) (1 automated, 1 enquiry, 2 with forms)" in out
    assert "4 request(s) filed (LR-000001, LR-000002, LR-000003, LR-000004)" in out
    assert "1 on other subjects left alone; 3 replies queued" in out
