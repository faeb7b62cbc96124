"""`intake-bot config --check`: every fault named on a line of its own, exit 2; exit 0 when fine.

Nothing here connects to a server: the checks look at URLs, files, addresses and templates.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from intake_bot.cli import app
from intake_bot.config import PACKAGED_TEMPLATES
from intake_bot.domain.form_versions import CURRENT_VERSION

RUNNER = CliRunner()


def good_env(tmp: Path) -> dict[str, str]:
    """A deployment-like configuration with nothing wrong: IMAP, SMTP, PostgreSQL."""
    (tmp / "imap-password").write_text("secret\n")
    (tmp / "smtp-password").write_text("secret\n")
    return {
        "INTAKE_BOT_MAILBOX_URL": "imaps://intake@mail.example.nhs.uk:993/INBOX",
        "INTAKE_BOT_MAILBOX_PASSWORD_FILE": str(tmp / "imap-password"),
        "INTAKE_BOT_DATABASE_URL": "postgresql+psycopg://intake@db.example.nhs.uk/intake_bot",
        "INTAKE_BOT_OUTGOING_URL": "smtp://intake@smtp.example.nhs.uk:587",
        "INTAKE_BOT_OUTGOING_PASSWORD_FILE": str(tmp / "smtp-password"),
        "INTAKE_BOT_OUTGOING_FROM_ADDRESS": "dsfc.enquiries@example.nhs.uk",
        "INTAKE_BOT_DSCRO": '[{"name": "North", "staff": ["north@example.nhs.uk"]}]',
    }


def _check(env: dict[str, str]) -> tuple[int, list[str]]:
    clean: dict[str, str | None] = {k: None for k in os.environ if k.startswith("INTAKE_BOT_")}
    result = RUNNER.invoke(app, ["config", "--check"], env={**clean, **env})
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout.splitlines()


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _one_mapping(tmp_path: Path, version: str) -> Path:
    """A forms folder of the operator's own, holding one mapping for `version`."""
    forms = tmp_path / "forms"
    forms.mkdir()
    (forms / f"{version}.toml").write_text(
        f'version = "{version}"\n[labels]\n"Commissioning organisation" = "commissioner_name"\n',
        encoding="utf-8",
    )
    return forms


def test_the_built_in_defaults_pass(tmp_path: Path) -> None:
    code, lines = _check({})
    assert (code, lines) == (0, ["settings are fine (built-in defaults)"])


def test_a_forms_folder_lacking_a_version_the_bot_ships_is_named_and_the_worker_starts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The shipped mappings are read only when no folder is configured: an operator who starts
    a folder of their own with one new file would stop reading the forms of 2016 without a
    word. The check names each shipped version the folder lacks; it is no error, as leaving
    one out may be meant."""
    from intake_bot.config import PACKAGED_CONFIG

    forms = _one_mapping(tmp_path, "2020.1")
    code, lines = _check({"INTAKE_BOT_PATHS_FORMS": str(forms)})
    assert code == 0, lines
    shipped = sorted(p.stem for p in (PACKAGED_CONFIG / "forms").glob("*.toml"))
    shipped.remove(CURRENT_VERSION)  # read by today's labels, whatever the folder holds
    assert "2016.1" in shipped
    for version in shipped:
        assert any(
            f"has no {version}.toml, which the bot ships: forms on version {version} are not read"
            in line
            for line in lines
        ), lines
    assert not any(f"{CURRENT_VERSION}.toml, which the bot ships" in line for line in lines)
    assert _run_once(forms)[0] == 0  # the worker starts, and logs it
    assert any("has no 2016.1.toml, which the bot ships" in m for m in caplog.messages)
    for path in (PACKAGED_CONFIG / "forms").glob("*.toml"):
        (forms / path.name).write_bytes(path.read_bytes())
    assert _check({"INTAKE_BOT_PATHS_FORMS": str(forms)}) == (
        0,
        ["settings are fine (built-in defaults)"],
    )


def test_a_deployment_with_nothing_wrong_passes(tmp_path: Path) -> None:
    code, lines = _check(good_env(tmp_path))
    assert code == 0, lines


def _templates_without_one(tmp: Path) -> dict[str, str]:
    shutil.copytree(PACKAGED_TEMPLATES, tmp / "mine")
    (tmp / "mine" / "email" / "ack_valid.txt").unlink()
    return {"INTAKE_BOT_PATHS_TEMPLATES": str(tmp / "mine")}


def _file(name: str, text: str, setting: str) -> Callable[[Path], dict[str, str]]:
    def env(tmp: Path) -> dict[str, str]:
        (tmp / name).write_text(text)
        return {setting: str(tmp / name)}

    return env


FAULTS: dict[str, tuple[Callable[[Path], dict[str, str]], str]] = {
    # name: (what to set on top of the good configuration, what the line must say)
    "misspelt variable": (
        lambda t: {"INTAKE_BOT_OUTGOING_FROM_ADRESS": "x@example.nhs.uk"},
        "INTAKE_BOT_OUTGOING_FROM_ADRESS: unknown setting, ignored; "
        "did you mean INTAKE_BOT_OUTGOING_FROM_ADDRESS?",
    ),
    "mailbox scheme": (
        lambda t: {"INTAKE_BOT_MAILBOX_URL": "pop3://intake@mail.example.nhs.uk/INBOX"},
        "mailbox.url: unknown scheme 'pop3'",
    ),
    "mailbox without user": (
        lambda t: {"INTAKE_BOT_MAILBOX_URL": "imaps://mail.example.nhs.uk/INBOX"},
        "mailbox.url: name the user and the host",
    ),
    "mailbox tls": (
        lambda t: {"INTAKE_BOT_MAILBOX_URL": "imap://intake@mail.example.nhs.uk/INBOX?tls=yes"},
        "mailbox.url: tls=yes is not one of ssl, starttls, none",
    ),
    "mailbox plain password": (
        lambda t: {"INTAKE_BOT_MAILBOX_URL": "imap://intake@mail.example.nhs.uk/INBOX?tls=none"},
        "mailbox.url: ",  # nothing else is wrong with it
    ),
    "mailbox without password": (
        lambda t: {"INTAKE_BOT_MAILBOX_PASSWORD_FILE": ""},
        "mailbox: an IMAP mailbox needs a password: set INTAKE_BOT_MAILBOX_PASSWORD or "
        "mailbox.password_file",
    ),
    "mailbox password file": (
        lambda t: {"INTAKE_BOT_MAILBOX_PASSWORD_FILE": str(t / "nope")},
        "mailbox.password_file: cannot read",
    ),
    "second mailbox token file": (
        lambda t: {
            "INTAKE_BOT_MAILBOXES": '[{"name": "a"}, {"name": "b", "url": '
            f'"imaps://b@mail.example.nhs.uk/INBOX", "oauth2_token_file": "{t / "nope"}"}}]'
        },
        "mailbox[1].oauth2_token_file: cannot read",
    ),
    "mailbox default office": (
        lambda t: {"INTAKE_BOT_MAILBOX_DEFAULT_OFFICE": "Nroth"},
        "mailbox.default_office: not a regional office; one of North",
    ),
    "database kind": (
        lambda t: {"INTAKE_BOT_DATABASE_URL": "nosuchdb://x"},
        "database.url: unknown kind of database 'nosuchdb'",
    ),
    "database not a url": (
        lambda t: {"INTAKE_BOT_DATABASE_URL": "intake.db"},
        "database.url: not a database URL",
    ),
    "database driver": (
        lambda t: {"INTAKE_BOT_DATABASE_URL": "mysql+nosuchdriver://a@b/c"},
        "database.url: ",
    ),
    "database password file": (
        lambda t: {"INTAKE_BOT_DATABASE_PASSWORD_FILE": str(t / "nope")},
        "database.password_file: cannot read",
    ),
    "outgoing scheme": (
        lambda t: {"INTAKE_BOT_OUTGOING_URL": "http://smtp.example.nhs.uk"},
        "outgoing.url: unknown scheme 'http'",
    ),
    "outgoing password file": (
        lambda t: {"INTAKE_BOT_OUTGOING_PASSWORD_FILE": str(t / "nope")},
        "outgoing.password_file: cannot read",
    ),
    "from address": (
        lambda t: {"INTAKE_BOT_OUTGOING_FROM_ADDRESS": "dsfc enquiries"},
        "outgoing.from_address: 'dsfc enquiries': not an email address",
    ),
    "from address reserved": (
        lambda t: {"INTAKE_BOT_OUTGOING_FROM_ADDRESS": "dsfc@intake-bot.invalid"},
        "outgoing.from_address: 'dsfc@intake-bot.invalid': a reserved domain",
    ),
    "staff address": (
        lambda t: {"INTAKE_BOT_DSCRO": '[{"name": "North", "staff": ["north@"]}]'},
        "dscro 'North' staff: 'north@': not an email address",
    ),
    "templates folder": (
        lambda t: {"INTAKE_BOT_PATHS_TEMPLATES": str(t / "nowhere")},
        "paths.templates: no email/ folder",
    ),
    "a template missing": (_templates_without_one, "lacks ack_valid.txt"),
    "s251 file missing": (
        lambda t: {"INTAKE_BOT_PATHS_S251": str(t / "s251.toml")},
        "paths.s251: cannot read",
    ),
    "s251 not toml": (
        _file("s251.toml", "[[approval]\n", "INTAKE_BOT_PATHS_S251"),
        "paths.s251: ",
    ),
    "s251 expiry not a date": (
        _file(
            "s251.toml",
            '[[approval]]\nreference = "CAG 1"\nexpires = "soon"\n',
            "INTAKE_BOT_PATHS_S251",
        ),
        "[[approval]] 1: expires must be a date",
    ),
    "organisation without name": (
        _file("orgs.toml", '[[organisation]]\nods = "02V"\n', "INTAKE_BOT_PATHS_ORGANISATIONS"),
        "paths.organisations: ",
    ),
    "cron": (lambda t: {"INTAKE_BOT_DIGEST_CRON": "0 8 * * 1-5"}, "digest.cron: name the days"),
    "time zone": (
        lambda t: {"INTAKE_BOT_TIMEZONE": "Europe/Londn"},
        "timezone: unknown time zone 'Europe/Londn'",
    ),
    "settings file": (_file("bad.toml", "timezone = \n", "INTAKE_BOT_CONFIG"), "not valid TOML"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_is_a_line_naming_the_setting_and_exit_2(fault: str, tmp_path: Path) -> None:
    extra, says = FAULTS[fault]
    code, lines = _check({**good_env(tmp_path), **extra(tmp_path)})
    assert code == 2, lines
    assert [line for line in lines if says in line], lines


def test_every_fault_is_listed_not_only_the_first(tmp_path: Path) -> None:
    env = {
        **good_env(tmp_path),
        "INTAKE_BOT_MAILBOX_URL": "pop3://a@b/",
        "INTAKE_BOT_DATABASE_URL": "nosuchdb://x",
        "INTAKE_BOT_OUTGOING_URL": "http://x",
    }
    code, lines = _check(env)
    assert code == 2
    assert [line.split(":")[0] for line in lines] == ["mailbox.url", "database.url", "outgoing.url"]


def test_the_worker_starts_with_a_misspelt_name_but_not_with_a_broken_setting(
    tmp_path: Path,
) -> None:
    clean: dict[str, str | None] = {k: None for k in os.environ if k.startswith("INTAKE_BOT_")}
    env = {**clean, "INTAKE_BOT_OUTGOING_FROM_ADRESS": "x@example.nhs.uk"}
    started = RUNNER.invoke(app, ["run", "--once"], env=env)
    assert started.exit_code == 0, started.output
    assert (tmp_path / "var" / "intake-bot.db").is_file()  # var/ made when needed
    refused = RUNNER.invoke(
        app, ["run", "--once"], env={**env, "INTAKE_BOT_PATHS_TEMPLATES": str(tmp_path)}
    )
    assert refused.exit_code == 2
    assert refused.stderr.startswith("error: paths.templates: no email/ folder")


def test_a_form_mapping_that_gives_todays_names_another_field_is_named_but_the_worker_starts(
    tmp_path: Path,
) -> None:
    forms = tmp_path / "forms"
    forms.mkdir()
    (forms / "2018.1.toml").write_text(
        'version = "2018.1"\n[labels]\n"Requester email" = "authoriser_email"\n', encoding="utf-8"
    )
    code, lines = _check({"INTAKE_BOT_PATHS_FORMS": str(forms)})
    assert code == 2
    (line,) = lines
    assert line.startswith("paths.forms: 2018.1.toml gives names of today's form another field")
    assert "'Requester email' (today requester_email, here authoriser_email)" in line
    clean: dict[str, str | None] = {k: None for k in os.environ if k.startswith("INTAKE_BOT_")}
    started = RUNNER.invoke(
        app, ["run", "--once"], env={**clean, "INTAKE_BOT_PATHS_FORMS": str(forms)}
    )
    assert started.exit_code == 0, started.output


def test_a_mapping_saved_by_windows_notepad_is_read_and_one_windows_hid_as_txt_is_named(
    tmp_path: Path,
) -> None:
    forms = tmp_path / "forms"
    forms.mkdir()
    mapping = 'version = "2018.1"\n[labels]\n"Requestor e-mail" = "requester_email"\n'
    (forms / "2018.1.toml").write_bytes(b"\xef\xbb\xbf" + mapping.encode())  # UTF-8 with BOM
    (forms / "2019.1.toml.txt").write_text(mapping.replace("2018", "2019"), encoding="utf-8")
    code, lines = _check({"INTAKE_BOT_PATHS_FORMS": str(forms)})
    assert code == 2
    assert lines == [
        "paths.forms: 2019.1.toml.txt is not read: only <version>.toml files are (rename it if "
        "it maps a version)"
    ]
    (forms / "2019.1.toml.txt").unlink()
    assert _check({"INTAKE_BOT_PATHS_FORMS": str(forms)})[0] == 0
    windows_1252 = mapping.replace("Requestor", "Requestor’s").encode("cp1252")
    (forms / "2018.1.toml").write_bytes(windows_1252)
    code, lines = _check({"INTAKE_BOT_PATHS_FORMS": str(forms)})
    assert code == 2
    assert lines[0].startswith("paths.forms: 2018.1.toml: not UTF-8 text (byte 0x92 at offset")
    assert lines[0].endswith("save it as UTF-8")


def test_mapping_files_of_one_version_spelt_two_ways_are_named(tmp_path: Path) -> None:
    forms = tmp_path / "forms"
    forms.mkdir()
    for version in ("2018.1", "2018.01", "2026.01"):
        (forms / f"{version}.toml").write_text(f'version = "{version}"\n', encoding="utf-8")
    code, lines = _check({"INTAKE_BOT_PATHS_FORMS": str(forms)})
    assert code == 2
    assert lines == [
        "paths.forms: 2018.01.toml and 2018.1.toml describe one version: only one is used",
        "paths.forms: 2026.01.toml describes the current form, 2026.1, spelt another way: it is "
        "never used (the current form is read by today's labels; see 2026.1.toml)",
    ]


def test_a_mapping_for_a_version_newer_than_the_blank_is_listed_as_read_and_the_worker_starts(
    tmp_path: Path,
) -> None:
    forms = _one_mapping(tmp_path, "2031.1")
    code, lines = _check({"INTAKE_BOT_PATHS_FORMS": str(forms)})
    assert code == 0, lines
    assert lines[0].startswith(
        "paths.forms: 2031.1.toml is read: forms that declare 2031.1, newer than the blank the "
        f"bot sends ({CURRENT_VERSION})"
    )
    assert lines[-1].startswith("settings are fine")
    clean: dict[str, str | None] = {k: None for k in os.environ if k.startswith("INTAKE_BOT_")}
    started = RUNNER.invoke(
        app, ["run", "--once"], env={**clean, "INTAKE_BOT_PATHS_FORMS": str(forms)}
    )
    assert started.exit_code == 0, started.output


def _run_once(forms: Path) -> tuple[int, str]:
    clean: dict[str, str | None] = {k: None for k in os.environ if k.startswith("INTAKE_BOT_")}
    result = RUNNER.invoke(
        app, ["run", "--once"], env={**clean, "INTAKE_BOT_PATHS_FORMS": str(forms)}
    )
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_a_version_file_that_is_a_folder_or_a_dead_link_is_named_and_stops_the_worker(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    forms = tmp_path / "forms"
    forms.mkdir()
    (forms / "2019.1.toml").mkdir()
    (forms / "2020.1.toml").symlink_to(tmp_path / "gone.toml")
    (forms / "old").mkdir()
    (forms / "old" / "2015.1.toml").write_text('version = "2015.1"\n', encoding="utf-8")
    code, lines = _check({"INTAKE_BOT_PATHS_FORMS": str(forms)})
    assert code == 2
    assert lines == [
        "paths.forms: 2019.1.toml is a folder: the version it names is not read (make it a "
        "readable file, or remove it)",
        "paths.forms: 2020.1.toml is a link to something that is not there: the version it names "
        "is not read (make it a readable file, or remove it)",
        "paths.forms: old is a folder: nothing in it is read (each <version>.toml goes in forms/ "
        "itself)",
    ]
    code, output = _run_once(forms)
    assert code == 2
    assert "error: paths.forms: 2019.1.toml is a folder" in output
    assert "paths.forms: 2020.1.toml is a link to something that is not there" in output
    (forms / "2019.1.toml").rmdir()
    (forms / "2020.1.toml").unlink()
    code, output = _run_once(forms)  # a folder beside the files: named, and the worker starts
    assert code == 0, output
    assert any("paths.forms: old is a folder: nothing in it is read" in m for m in caplog.messages)


def test_a_dead_link_is_named_as_one_and_too_many_version_entries_are_counted(
    tmp_path: Path,
) -> None:
    forms = tmp_path / "forms"
    forms.mkdir()
    (forms / "dead").symlink_to(tmp_path / "nowhere")
    code, lines = _check({"INTAKE_BOT_PATHS_FORMS": str(forms)})
    assert lines == ["paths.forms: dead is a link to something that is not there: it is not read"]
    for n in range(201):
        (forms / f"d{n}.toml").mkdir()
    code, lines = _check({"INTAKE_BOT_PATHS_FORMS": str(forms)})
    assert code == 2 and len(lines) < 10, lines
    assert any("more than 200 <version>.toml entries" in line for line in lines), lines


def test_hidden_entries_such_as_macos_copies_of_a_version_file_are_passed_over(
    tmp_path: Path,
) -> None:
    forms = tmp_path / "forms"
    forms.mkdir()
    (forms / "._2016.1.toml").write_bytes(b"\x00\x05\x16\x07 Mac OS X resource fork")
    (forms / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    code, lines = _check({"INTAKE_BOT_PATHS_FORMS": str(forms)})
    assert code == 0, lines
    code, output = _run_once(forms)
    assert code == 0, output


def test_a_version_file_the_bot_cannot_read_is_named_and_stops_the_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forms = tmp_path / "forms"
    forms.mkdir()
    locked = forms / "2019.1.toml"
    locked.write_text('version = "2019.1"\n', encoding="utf-8")
    locked.chmod(0)
    try:
        locked.read_bytes()
    except PermissionError:
        pass
    else:  # root reads any file whatever its mode: refuse this one as the kernel would
        read_text = Path.read_text

        def refused(path: Path, *args: Any, **kwargs: Any) -> str:
            if path == locked:
                raise PermissionError(13, "Permission denied", str(path))
            return read_text(path, *args, **kwargs)

        monkeypatch.setattr(Path, "read_text", refused)
    code, lines = _check({"INTAKE_BOT_PATHS_FORMS": str(forms)})
    assert code == 2
    assert lines == [
        "paths.forms: 2019.1.toml: cannot be read (Permission denied): the version it names is "
        "not read; let the bot's user read it"
    ]
    code, output = _run_once(forms)
    assert code == 2
    assert "error: paths.forms: 2019.1.toml: cannot be read (Permission denied)" in output
