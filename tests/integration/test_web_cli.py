"""`intake-bot staff` and `intake-bot web` as an operator runs them: real processes, a real
socket, the embedded SQLite."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.servers import free_port

pytestmark = pytest.mark.integration


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_BOT_")}
    env["INTAKE_BOT_DATABASE_URL"] = f"sqlite:///{tmp_path / 'intake.db'}"
    env["COLUMNS"] = "200"
    return env


def _cli(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "intake_bot", *args],
        cwd=tmp_path,
        env=_env(tmp_path),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_staff_accounts_are_added_listed_and_disabled(tmp_path: Path) -> None:
    added = _cli(
        tmp_path,
        *("staff", "add", "Sam.Smith@nhs.net", "--name", "Sam Smith"),
        *("--office", "north", "--office", "M&E", "--role", "lead", "--password-stdin"),
        stdin="a long enough password\n",
    )
    assert added.returncode == 0, added.stderr
    assert "sam.smith@nhs.net: added as lead for North, Midlands and East" in added.stdout
    short = _cli(
        tmp_path,
        "staff",
        "add",
        "x@nhs.net",
        "--name",
        "X",
        "--office",
        "North",
        "--password-stdin",
        stdin="short\n",
    )
    assert short.returncode == 1 and "at least 12 characters" in short.stderr
    listed = _cli(tmp_path, "staff", "list")
    assert "sam.smith@nhs.net" in listed.stdout and "active" in listed.stdout
    assert "argon2" not in listed.stdout  # never the hash
    assert _cli(tmp_path, "staff", "disable", "sam.smith@nhs.net").returncode == 0
    assert "disabled" in _cli(tmp_path, "staff", "list").stdout


def test_the_web_command_serves_the_console(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "intake_bot", "web", "--port", str(port)],
        cwd=tmp_path,
        env=_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline, status = time.monotonic() + 60, 0
        while time.monotonic() < deadline and not status:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as r:
                    status = r.status
                    page = r.read().decode()
                    csp = r.headers["Content-Security-Policy"]
            except OSError:
                time.sleep(0.2)
        assert status == 200 and "Sign in" in page and "frame-ancestors 'none'" in csp
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=20)
    assert b"Traceback" not in stderr
