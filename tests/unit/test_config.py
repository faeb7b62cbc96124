from __future__ import annotations

import logging
import re
from pathlib import Path

import msgspec
import pytest

from intake_bot.config import (
    PACKAGED_CONFIG,
    ConfigError,
    MailboxSettings,
    Settings,
    load_settings,
    mask_url,
)
from intake_bot.config_sources import known_env_names
from intake_bot.config_types import as_plain, fields_of

REPO = Path(__file__).resolve().parents[2]
DEFAULTS = REPO / "config/intake-bot.toml"


def test_embedded_defaults_are_maildir_sqlite_and_file_outbox() -> None:
    s = load_settings(DEFAULTS, env={})
    assert s.mailbox.url.startswith("maildir:")
    assert s.database.url.startswith("sqlite:///")
    assert s.outgoing.url.startswith("file:")
    assert [d.name for d in s.dscro] == ["North", "Midlands and East", "London", "South"]


def test_environment_overrides_any_setting_by_section_and_key() -> None:
    env = {
        "INTAKE_BOT_MAILBOX_URL": "imaps://intake@mail.example.nhs.uk:993/INBOX",
        "INTAKE_BOT_MAILBOX_POLL_INTERVAL_SECONDS": "120",
        "INTAKE_BOT_SENDERS_ALLOWED_DOMAINS": '["nhs.net"]',
    }
    s = load_settings(DEFAULTS, env=env)
    assert s.mailbox.url == "imaps://intake@mail.example.nhs.uk:993/INBOX"
    assert s.mailbox.poll_interval_seconds == 120
    assert s.senders.allowed_domains == ["nhs.net"]


def test_config_file_can_be_chosen_by_environment(tmp_path: Path) -> None:
    cfg = tmp_path / "other.toml"
    cfg.write_text('[mailbox]\nsubject = "Other subject"\n')
    s = load_settings(env={"INTAKE_BOT_CONFIG": str(cfg)})
    assert s.mailbox.subject == "Other subject"
    assert s.source == str(cfg)


def test_password_in_a_config_file_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[mailbox]\npassword = "hunter2"\n')
    with pytest.raises(ConfigError, match="INTAKE_BOT_MAILBOX_PASSWORD"):
        load_settings(cfg, env={})


def test_secrets_come_from_environment_or_file_and_are_masked(tmp_path: Path) -> None:
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret\n")
    env = {
        "INTAKE_BOT_MAILBOX_PASSWORD": "imap-pass",
        "INTAKE_BOT_OUTGOING_PASSWORD_FILE": str(secret),
        "INTAKE_BOT_DATABASE_URL": "postgresql+psycopg://bot:dbpass@db:5432/intake",
    }
    s = load_settings(DEFAULTS, env=env)
    assert s.mailbox_secret() == "imap-pass"
    assert s.outgoing_secret() == "s3cret"
    shown = repr(s.masked())
    assert "imap-pass" not in shown and "dbpass" not in shown and "s3cret" not in shown


def test_unknown_setting_is_named_in_the_error(tmp_path: Path) -> None:
    cfg = tmp_path / "typo.toml"
    cfg.write_text("[mailbox]\npoll_intervl = 5\n")
    with pytest.raises(ConfigError, match=r"mailbox\.poll_intervl"):
        load_settings(cfg, env={})


def test_missing_explicit_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml", env={})


def test_mask_url_hides_only_the_password() -> None:
    assert mask_url("smtp://bot:pw@host:587") == "smtp://bot:********@host:587"
    assert mask_url("maildir:var/mail") == "maildir:var/mail"


@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [
        ("INTAKE_BOT_DIGEST_CRON", "every morning", "not a cron expression"),
        ("INTAKE_BOT_DIGEST_CRON", "0 8 * * 1-5", "name the days"),
        ("INTAKE_BOT_REMINDERS_CRON", "61 7 * * *", "not a cron expression"),
    ],
)
def test_schedules_are_checked_when_settings_load(setting: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        load_settings(DEFAULTS, env={setting: value})


def test_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "tz.toml"
    cfg.write_text('timezone = "Europe/Londn"\n')
    with pytest.raises(ConfigError, match="unknown time zone"):
        load_settings(cfg, env={})


def test_database_password_from_a_file_is_put_into_the_url(tmp_path: Path) -> None:
    secret = tmp_path / "db-password"
    secret.write_text("p@ss:word/1\n")
    env = {
        "INTAKE_BOT_DATABASE_URL": "postgresql+psycopg://intake@db.example:5432/intake_bot",
        "INTAKE_BOT_DATABASE_PASSWORD_FILE": str(secret),
    }
    url = load_settings(DEFAULTS, env=env).database_url()
    assert url == "postgresql+psycopg://intake:p%40ss%3Aword%2F1@db.example:5432/intake_bot"


# -- the environment: every kind of value ---------------------------------------------------


def test_environment_sets_every_kind_of_value() -> None:
    env = {
        "INTAKE_BOT_OUTGOING_FROM_ADDRESS": "dsfc@example.nhs.uk",  # text in a section
        "INTAKE_BOT_OUTGOING_TIMEOUT_SECONDS": "12.5",  # float
        "INTAKE_BOT_OUTGOING_ALLOW_PLAIN_AUTH": "true",  # bool
        "INTAKE_BOT_TARGETS_END": "7",  # int
        "INTAKE_BOT_PATHS_S251": "/srv/s251.toml",  # path
        "INTAKE_BOT_TIMEZONE": "Europe/Dublin",  # top-level text
        "INTAKE_BOT_LOG_LEVEL": "debug",  # a choice, any case
        "INTAKE_BOT_REMINDERS_OFFSETS_DAYS": "[30, 1]",  # JSON list in a section
        "INTAKE_BOT_PURPOSES_NEEDING_APPROVAL": '["Risk stratification"]',  # top-level list
        "INTAKE_BOT_DSCRO": '[{"name": "North", "staff": ["north@example.nhs.uk"]}]',  # tables
        "INTAKE_BOT_SENDERS": '{"allowed_domains": ["nhs.net"], "authserv_id": "mx.nhs.net"}',
    }
    s = load_settings(DEFAULTS, env=env)
    assert s.outgoing.from_address == "dsfc@example.nhs.uk"
    assert s.outgoing.timeout_seconds == 12.5
    assert s.outgoing.allow_plain_auth is True
    assert s.targets.end == 7 and s.targets.new == 10
    assert s.paths.s251 == Path("/srv/s251.toml")
    assert s.timezone == "Europe/Dublin"
    assert s.log_level == "DEBUG"
    assert s.reminders.offsets_days == [30, 1]
    assert s.purposes_needing_approval == ["Risk stratification"]
    assert [(d.name, d.staff) for d in s.dscro] == [("North", ["north@example.nhs.uk"])]
    assert s.senders.allowed_domains == ["nhs.net"] and s.senders.authserv_id == "mx.nhs.net"
    assert s.env_warnings == []


def test_environment_wins_over_the_file_key_by_key(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[outgoing]\nfrom_name = "From the file"\nurl = "file:/srv/outbox"\n')
    s = load_settings(cfg, env={"INTAKE_BOT_OUTGOING_URL": "smtp://bot@smtp.example:587"})
    assert s.outgoing.url == "smtp://bot@smtp.example:587"
    assert s.outgoing.from_name == "From the file"  # the rest of the section is kept


def test_a_list_given_as_something_else_than_json_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="INTAKE_BOT_SENDERS_ALLOWED_DOMAINS: not valid JSON"):
        load_settings(DEFAULTS, env={"INTAKE_BOT_SENDERS_ALLOWED_DOMAINS": "nhs.net"})


def test_a_misspelt_variable_is_a_warning_naming_the_closest_setting(
    caplog: pytest.LogCaptureFixture,
) -> None:
    env = {"INTAKE_BOT_OUTGOING_FROM_ADRESS": "typo@example.nhs.uk", "INTAKE_BOT_ZZZ": "1"}
    with caplog.at_level(logging.WARNING, logger="intake_bot.config"):
        s = load_settings(DEFAULTS, env=env)
    assert s.outgoing.from_address == "dsfc.enquiries@intake-bot.invalid"  # ignored
    assert s.env_warnings == [
        "INTAKE_BOT_OUTGOING_FROM_ADRESS: unknown setting, ignored; "
        "did you mean INTAKE_BOT_OUTGOING_FROM_ADDRESS?",
        "INTAKE_BOT_ZZZ: unknown setting, ignored; no setting has that name",
    ]
    assert "did you mean INTAKE_BOT_OUTGOING_FROM_ADDRESS?" in caplog.text


def test_every_setting_has_a_known_environment_name() -> None:
    names = known_env_names(Settings)
    for section in ("database", "outgoing", "senders", "paths", "targets", "digest", "reminders"):
        model = fields_of(Settings)[section].type
        assert isinstance(model, type) and issubclass(model, msgspec.Struct)
        for key in fields_of(model):
            assert f"INTAKE_BOT_{section.upper()}_{key.upper()}" in names
    for key in fields_of(MailboxSettings):
        assert f"INTAKE_BOT_MAILBOX_{key.upper()}" in names
    for top in ("TIMEZONE", "LOG_LEVEL", "DSCRO", "MAILBOXES", "PURPOSES_NEEDING_APPROVAL"):
        assert f"INTAKE_BOT_{top}" in names
    assert "INTAKE_BOT_SOURCE" not in names  # set by the loader only


def test_a_misspelt_key_in_the_file_is_named_with_the_closest_one(tmp_path: Path) -> None:
    cfg = tmp_path / "typo.toml"
    cfg.write_text('timezon = "Europe/London"\n[[dscro]]\nnmae = "North"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(cfg, env={})
    assert "timezon: unknown setting; did you mean timezone?" in caught.value.problems
    assert "dscro[0].nmae: unknown setting; did you mean name?" in caught.value.problems


# -- mailboxes ---------------------------------------------------------------------------------


def test_several_mailboxes_as_an_array_of_tables(tmp_path: Path) -> None:
    cfg = tmp_path / "two.toml"
    cfg.write_text(
        '[[mailbox]]\nname = "enquiries"\nurl = "maildir:/srv/a"\n'
        '[[mailbox]]\nname = "north"\nurl = "maildir:/srv/b"\ndefault_office = "North"\n'
    )
    s = load_settings(cfg, env={"INTAKE_BOT_MAILBOX_POLL_INTERVAL_SECONDS": "30"})
    assert [(b.name, b.url) for b in s.mailboxes] == [
        ("enquiries", "maildir:/srv/a"),
        ("north", "maildir:/srv/b"),
    ]
    assert s.mailbox is s.mailboxes[0]
    # INTAKE_BOT_MAILBOX_* set the first mailbox only.
    assert [b.poll_interval_seconds for b in s.mailboxes] == [30, 60]
    assert s.mailboxes[1].default_office == "North"


def test_the_legacy_single_mailbox_table_is_one_mailbox(tmp_path: Path) -> None:
    cfg = tmp_path / "one.toml"
    cfg.write_text('[mailbox]\nurl = "maildir:/srv/mail"\n')
    s = load_settings(cfg, env={"INTAKE_BOT_MAILBOX_URL": "imaps://intake@mail.example/INBOX"})
    assert [(b.name, b.url) for b in s.mailboxes] == [
        ("enquiries", "imaps://intake@mail.example/INBOX")
    ]


def test_the_whole_mailbox_list_from_the_environment_then_the_first_adjusted() -> None:
    env = {
        "INTAKE_BOT_MAILBOXES": '[{"name": "a", "url": "maildir:/a"}, {"name": "b"}]',
        "INTAKE_BOT_MAILBOX_URL": "maildir:/first",
    }
    s = load_settings(DEFAULTS, env=env)
    assert [(b.name, b.url) for b in s.mailboxes] == [
        ("a", "maildir:/first"),
        ("b", "maildir:var/mail"),
    ]


@pytest.mark.parametrize(
    "env",
    [
        {"INTAKE_BOT_MAILBOXES": '[{"name": "North"}, {"name": "north"}]'},
        {"INTAKE_BOT_MAILBOXES": "[]"},
    ],
)
def test_mailboxes_need_distinct_names_and_at_least_one(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="mailboxes: "):
        load_settings(DEFAULTS, env=env)


def test_duplicate_mailbox_names_in_the_file_are_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "dup.toml"
    cfg.write_text('[[mailbox]]\nname = "a"\n[[mailbox]]\nname = "A"\n')
    with pytest.raises(ConfigError, match="different name"):
        load_settings(cfg, env={})


def test_a_password_in_any_mailbox_of_the_file_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "pw.toml"
    cfg.write_text('[[mailbox]]\nname = "a"\n[[mailbox]]\nname = "b"\npassword = "x"\n')
    with pytest.raises(ConfigError, match="password must not be in a file"):
        load_settings(cfg, env={})


def test_each_mailbox_reads_its_own_secret_files(tmp_path: Path) -> None:
    (tmp_path / "b-password").write_text("pw-b\n")
    (tmp_path / "a-token").write_text("token-a\n")
    cfg = tmp_path / "two.toml"
    cfg.write_text(
        f'[[mailbox]]\nname = "a"\noauth2_token_file = "{tmp_path / "a-token"}"\n'
        f'[[mailbox]]\nname = "b"\npassword_file = "{tmp_path / "b-password"}"\n'
        f'[[mailbox]]\nname = "c"\npassword_file = "{tmp_path / "missing"}"\n'
    )
    s = load_settings(cfg, env={"INTAKE_BOT_MAILBOX_PASSWORD": "pw-a"})
    a, b, c = s.mailboxes
    assert (s.mailbox_secret(a), s.mailbox_token(a)) == ("pw-a", "token-a")
    assert (s.mailbox_secret(b), s.mailbox_token(b)) == ("pw-b", None)
    assert s.mailbox_secret() == "pw-a"
    with pytest.raises(ConfigError, match=r"mailbox\[2\]\.password_file: cannot read"):
        s.mailbox_secret(c)


# -- defaults: in config.py only; the shipped copies when run from elsewhere ------------------


def _documented_defaults(text: str) -> str:
    """config/intake-bot.toml with its commented-out `key = value` lines (not e.g.) restored."""
    lines = []
    for line in text.splitlines():
        restored = line.removeprefix("# ")
        is_setting = re.fullmatch(r"(\[\[?\w+\]\]?|\w+ = .*)", restored)
        lines.append(restored if is_setting and not line.endswith("# e.g.") else line)
    return "\n".join(lines)


def test_the_sample_file_shows_the_real_defaults(tmp_path: Path) -> None:
    shown = tmp_path / "shown.toml"
    shown.write_text(_documented_defaults(DEFAULTS.read_text()))
    documented = as_plain(load_settings(shown, env={}))
    shipped = as_plain(load_settings(DEFAULTS, env={}))
    del documented["source"], shipped["source"]
    assert documented == shipped
    assert documented["outgoing"]["claim_seconds"] == 300  # the restoring did happen
    assert len(documented["dscro"]) == 4


def test_installed_defaults_are_the_packaged_copies_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no config/ and no templates/ here
    s = load_settings(env={})
    assert s.source == "(built-in defaults)"
    assert s.paths.s251 == PACKAGED_CONFIG / "s251.toml" and s.paths.s251.is_file()
    assert s.paths.organisations.is_file()
    assert (s.templates_dir() / "email" / "ack_valid.txt").is_file()


def test_a_reference_file_someone_named_is_kept_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings(env={"INTAKE_BOT_PATHS_S251": "conf/s251.toml"})
    assert s.paths.s251 == Path("conf/s251.toml")  # reported by --check, not hidden


def test_a_template_folder_without_email_is_named(tmp_path: Path) -> None:
    s = load_settings(DEFAULTS, env={"INTAKE_BOT_PATHS_TEMPLATES": str(tmp_path)})
    with pytest.raises(ConfigError, match=r"paths\.templates: no email/ folder"):
        s.templates_dir()


def test_the_environment_is_read_when_none_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_BOT_TARGETS_NEW", "3")
    assert load_settings(DEFAULTS).targets.new == 3


def test_every_problem_in_the_settings_is_named_at_once(tmp_path: Path) -> None:
    """Not only the first: an operator fixes the file once, not once a problem."""
    cfg = tmp_path / "several.toml"
    cfg.write_text(
        'timezone = "Mars/Base"\n'
        '[[dscro]]\nnmae = "North"\n'
        '[[dscro]]\nname = "South"\nstaff = 3\n'
        '[outgoing]\nmax_attempts = "x"\n'
        '[digest]\ncron = "bad"\n'
        '[[mailbox]]\nname = "a"\nfetch_batch = 0\n'
        '[[mailbox]]\nname = "b"\npoll_interval_seconds = 1\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(cfg, env={"INTAKE_BOT_MAILBOX_PASSWORD_FILE": ""})
    problems = caught.value.problems
    assert [p.split(":")[0] for p in problems] == [
        "dscro[0].nmae",
        "dscro[0]",  # with the misspelt key left out, it has no name
        "dscro[1].staff",  # counted as the file has them, though dscro[0] was dropped
        "outgoing.max_attempts",
        "digest.cron",
        "mailbox.fetch_batch",
        "mailbox[1].poll_interval_seconds",
        "timezone",
    ]
    assert "dscro[1].staff: expected a list, got `int`" in problems
    assert "dscro[0]: missing the setting `name`" in problems
    assert "mailbox[1].poll_interval_seconds: expected `int` >= 5" in problems
