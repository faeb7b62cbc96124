"""`intake-bot form` writes the current blank whatever the forms folder holds: a mapping file
with a typo stops the worker (and `parse`, which reads forms through it), not staff writing
the blank they send."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from openpyxl import load_workbook
from typer.testing import CliRunner

from intake_bot.cli import app
from intake_bot.domain.form_versions import CURRENT_VERSION
from tests.conftest import REPO

RUNNER = CliRunner()


def _env(tmp_path: Path) -> dict[str, str | None]:
    forms = tmp_path / "forms"
    shutil.copytree(REPO / "config/forms", forms)
    (forms / "2031.1.toml").write_text('version = "2031.1"\n[labels\n', encoding="utf-8")
    clean: dict[str, str | None] = {k: None for k in os.environ if k.startswith("INTAKE_BOT_")}
    return {
        **clean,
        "INTAKE_BOT_PATHS_FORMS": str(forms),
        "INTAKE_BOT_DATABASE_URL": f"sqlite:///{tmp_path / 'intake.db'}",
    }


def test_a_broken_mapping_file_does_not_stop_the_blank_form_being_written(
    tmp_path: Path,
) -> None:
    env = _env(tmp_path)
    out = tmp_path / "blank.xlsx"

    written = RUNNER.invoke(app, ["form", "-o", str(out)], env=env)

    assert written.exit_code == 0, written.output
    assert f"form version {CURRENT_VERSION}" in written.output
    book = load_workbook(out)
    assert "Request" in book.sheetnames


def test_parse_still_names_the_broken_file(tmp_path: Path) -> None:
    env = _env(tmp_path)
    form = tmp_path / "request.csv"
    form.write_text("Commissioning organisation,NHS Leeds CCG\n", encoding="utf-8")

    parsed = RUNNER.invoke(app, ["parse", str(form)], env=env)

    assert parsed.exit_code == 2
    assert "2031.1.toml: not valid TOML" in parsed.output
