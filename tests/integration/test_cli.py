"""The `intake-bot` command, run as a user would (a subprocess), and its documentation."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from intake_bot.cli import COMMANDS
from intake_bot.samples import DOCX, docx_form, email, new_request

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def _run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_BOT_")}
    full_env["COLUMNS"] = "200"  # rich wraps tables to the terminal width
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "intake_bot", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _command_names() -> list[str]:
    return list(COMMANDS)


def test_every_command_is_in_the_readme_and_has_help(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text()
    for name in _command_names():
        assert re.search(rf"`intake-bot {name}\b", readme), (
            f"`intake-bot {name}` is not in the README"
        )
        result = _run(name, "--help", cwd=REPO)
        assert result.returncode == 0, result.stderr
        assert "Usage" in result.stdout


def test_demo_runs_on_the_embedded_defaults(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    for name in ("intake-bot.toml", "s251.toml", "organisations.toml"):
        (tmp_path / "config" / name).write_bytes((REPO / "config" / name).read_bytes())
    result = _run("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "north/new" in result.stdout and "enquiries" in result.stdout
    assert len(list((tmp_path / "var/outbox").glob("*.eml"))) == 6
    queue = _run("queue", "--json", cwd=tmp_path)
    assert queue.returncode == 0, queue.stderr
    assert len(json.loads(queue.stdout)) == 6  # 5 requests + 1 enquiry


def test_parse_exit_codes_accepted_rejected_unreadable(tmp_path: Path) -> None:
    good = tmp_path / "good.eml"
    good.write_bytes(email(attachments=[("f.docx", DOCX, docx_form(new_request()))]))
    bad = tmp_path / "bad.docx"
    bad.write_bytes(docx_form(new_request(declaration="", requester_email="nope")))
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"PK\x03\x04 this is not a zip file")
    assert _run("parse", str(good), cwd=REPO).returncode == 0
    result = _run("parse", str(bad), "--json", cwd=REPO)
    assert result.returncode == 1
    problems = json.loads(result.stdout)["requests"][0]["problems"]
    assert any("Your email address" in p for p in problems)
    result = _run("parse", str(broken), cwd=REPO)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_form_writes_blank_forms_that_read_back_as_empty_forms(tmp_path: Path) -> None:
    for fmt in ("docx", "xlsx"):
        out = tmp_path / f"blank.{fmt}"
        result = _run("form", "--format", fmt, "-o", str(out), cwd=REPO)
        assert result.returncode == 0, result.stderr
        assert out.stat().st_size > 1000


def test_config_masks_secrets(tmp_path: Path) -> None:
    result = _run("config", cwd=REPO, env={"INTAKE_BOT_MAILBOX_PASSWORD": "hunter2"})
    assert result.returncode == 0, result.stderr
    assert "hunter2" not in result.stdout and "********" in result.stdout
