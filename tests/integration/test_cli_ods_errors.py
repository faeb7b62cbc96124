"""`intake-bot ods import` of a file with several bad rows: each problem on an `error:` line of
its own, naming the file and the line, exit 2, nothing loaded."""

from __future__ import annotations

import os
from pathlib import Path

from typer.testing import CliRunner

from intake_bot.cli import app
from tests.ods_files import report, report_row

RUNNER = CliRunner()


def test_each_bad_row_is_an_error_line_of_its_own(tmp_path: Path) -> None:
    rows = [report_row("03G", "NHS LEEDS SOUTH AND EAST CCG", closed="20220630")]
    rows += [report_row(f"9{n}X", f"NHS TEST {n} CCG", opened="06/30/2022") for n in range(3)]
    eccg = report(tmp_path / "eccg.csv", rows)
    clean: dict[str, str | None] = {k: None for k in os.environ if k.startswith("INTAKE_BOT_")}
    env = {**clean, "INTAKE_BOT_DATABASE_URL": f"sqlite:///{tmp_path / 'intake.db'}"}
    assert RUNNER.invoke(app, ["db", "upgrade"], env=env).exit_code == 0

    result = RUNNER.invoke(app, ["ods", "import", str(eccg)], env=env)

    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 3, result.stderr
    for number, line in zip((2, 3, 4), errors, strict=True):
        assert line.startswith(f"error: eccg.csv: line {number}: "), line
    good = report(tmp_path / "good.csv", rows[:1])  # 03G was not loaded with the bad rows
    assert "closed     03G" in RUNNER.invoke(app, ["ods", "import", str(good)], env=env).stdout


def test_every_bad_file_is_named_and_a_header_naming_columns_twice_a_line_each(
    tmp_path: Path,
) -> None:
    twice = tmp_path / "hdr.csv"
    twice.write_text(
        "Organisation Code,Name,Close Date,Closed Date,Organisation Code\n"
        "03G,NHS LEEDS SOUTH AND EAST CCG,20220630,,03G\n",
        encoding="utf-8",
    )
    bad_date = report(tmp_path / "eccg.csv", [report_row("98X", "NHS TEST CCG", opened="2022")])
    clean: dict[str, str | None] = {k: None for k in os.environ if k.startswith("INTAKE_BOT_")}
    env = {**clean, "INTAKE_BOT_DATABASE_URL": f"sqlite:///{tmp_path / 'intake.db'}"}
    assert RUNNER.invoke(app, ["db", "upgrade"], env=env).exit_code == 0

    result = RUNNER.invoke(app, ["ods", "import", str(bad_date), str(twice)], env=env)

    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert any(line.startswith("error: eccg.csv: line 1: ") for line in errors), errors
    clashes = [line for line in errors if line.startswith("error: hdr.csv: line 1: ")]
    assert len(clashes) == 2, errors
    assert all(line.endswith("remove all but one") for line in clashes)
