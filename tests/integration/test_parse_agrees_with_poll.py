"""`intake-bot parse` and a poll give the same verdict and the same problems for the same email,
also after `s251 add` and `s251 extend` changed the approvals in the database (SQLite and
PostgreSQL). Run as a user would: every step is the `intake-bot` command in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from intake_bot.mail.maildir import deliver
from intake_bot.samples import DOCX, docx_form, email, new_request
from intake_bot.store.store import Store

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration

ADDED = "CAG 9-01(a)/2024"  # only in the database: `s251 add`
EXTENDED = "CAG 7-04(a)/2013"  # expired in config/s251.toml (31/03/2017): `s251 extend`


def _cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_BOT_")}
    full_env.update(env, COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "intake_bot", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _emails() -> dict[str, bytes]:
    def risk(i: int, refs: str, **more: str) -> bytes:
        values = new_request(i, purposes="Risk stratification", s251_references=refs, **more)
        return email(attachments=[(f"form{i}.docx", DOCX, docx_form(values))])

    return {
        "added.eml": risk(0, ADDED),
        "extended.eml": risk(1, EXTENDED),
        "unknown.eml": risk(2, "CAG 9-99(z)/2099"),
        "mistakes.eml": risk(3, ADDED, contract_signed_date="31/13/2016"),
    }


def test_parse_and_a_poll_agree_after_s251_add_and_extend(
    tmp_path: Path, database_url: str
) -> None:
    (tmp_path / "config").mkdir()
    for name in ("intake-bot.toml", "s251.toml", "organisations.toml"):
        (tmp_path / "config" / name).write_bytes((REPO / "config" / name).read_bytes())
    mail = tmp_path / "mail"
    env = {
        "INTAKE_BOT_DATABASE_URL": database_url,
        "INTAKE_BOT_MAILBOX_URL": f"maildir:{mail}",
        "INTAKE_BOT_OUTGOING_URL": f"file:{tmp_path / 'outbox'}",
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return _cli(*args, cwd=tmp_path, env=env)

    for step in (
        ("db", "upgrade"),
        ("s251", "add", ADDED, "--title", "Risk stratification for practices",
         "--purposes", "Risk stratification", "--expires", "31/03/2099"),
        ("s251", "extend", EXTENDED, "--until", "31/03/2099", "--note", "CAG letter"),
    ):  # fmt: skip
        done = cli(*step)
        assert done.returncode == 0, done.stderr

    previews = {}
    for name, raw in _emails().items():
        (tmp_path / name).write_bytes(raw)
        done = cli("parse", str(tmp_path / name), "--json")
        previews[name] = json.loads(done.stdout)
        assert done.returncode == {"accepted": 0, "rejected": 1}[previews[name]["verdict"]]
        assert previews[name]["reference_data"] == "database"
        deliver(mail, raw)
    assert previews["added.eml"]["verdict"] == previews["extended.eml"]["verdict"] == "accepted"
    assert previews["unknown.eml"]["verdict"] == previews["mistakes.eml"]["verdict"] == "rejected"

    polled = cli("run", "--once")
    assert polled.returncode == 0, polled.stderr
    store = Store.from_url(database_url)
    try:
        with store.unit() as unit:
            filed = {r.source: r for r in unit.requests.matching()}
    finally:
        store.dispose()
    for name, preview in previews.items():
        (judged,) = preview["requests"]
        request = filed[judged["source"]]
        assert judged["problems"] == [p["message"] for p in request.problems], name
        assert judged["flags"] == [f["message"] for f in request.flags], name
        assert (preview["verdict"] == "accepted") == (request.status == "triaged"), name
