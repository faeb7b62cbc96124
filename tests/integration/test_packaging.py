"""Installed from a wheel (not editable) and run from another folder, the bot finds its
templates and default settings: they ship inside the package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from intake_bot.samples import demo_messages

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.integration]


def _pip(*args: str) -> None:
    # Only the package index pip is set up with, and only for the build backend.
    subprocess.run([sys.executable, "-m", "pip", *args, "--quiet"], check=True, timeout=300)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package installed from its wheel into a folder of its own (no dependencies)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # a copy, so that the build leaves nothing in the repository
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("intake_bot", "templates", "config"):
        shutil.copytree(REPO / name, source / name, symlinks=True, ignore=ignore)
    _pip("wheel", "--no-deps", "--wheel-dir", str(work / "dist"), str(source))
    (wheel,) = (work / "dist").glob("intake_bot-*.whl")
    _pip("install", "--no-deps", "--target", str(work / "site"), str(wheel))
    return work / "site"


def _run(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_BOT_")}
    env["PYTHONPATH"] = str(site)  # ahead of the editable install in this virtualenv
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_wheel_is_what_runs(installed: Path, tmp_path: Path) -> None:
    done = _run(installed, tmp_path, "-c", "import intake_bot; print(intake_bot.__file__)")
    assert done.stdout.strip() == str(installed / "intake_bot" / "__init__.py"), done.stderr
    assert not (installed / "intake_bot" / "templates").is_symlink()  # copies, not links
    assert (installed / "intake_bot" / "templates" / "email" / "ack_valid.html").is_file()


def test_the_installed_bot_checks_its_settings_from_another_folder(
    installed: Path, tmp_path: Path
) -> None:
    done = _run(installed, tmp_path, "-m", "intake_bot", "config", "--check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "settings are fine (built-in defaults)"


def test_the_installed_bot_parses_a_message_from_another_folder(
    installed: Path, tmp_path: Path
) -> None:
    _what, raw = demo_messages()[0]
    sample = tmp_path / "sample.eml"
    sample.write_bytes(raw)
    done = _run(installed, tmp_path, "-m", "intake_bot", "parse", "--json", str(sample))
    assert done.returncode in (0, 1), done.stdout + done.stderr  # accepted or rejected
    assert '"verdict"' in done.stdout
    assert "Traceback" not in done.stderr and "templates" not in done.stderr


def test_the_installed_bot_files_mail_and_answers_from_another_folder(
    installed: Path, tmp_path: Path
) -> None:
    # The demo renders every kind of reply: it needs the templates and the reference data.
    done = _run(installed, tmp_path, "-m", "intake_bot", "demo")
    assert done.returncode == 0, done.stdout + done.stderr
    assert list((tmp_path / "var" / "outbox").glob("*.eml"))
