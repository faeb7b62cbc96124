from __future__ import annotations

from pathlib import Path

import pytest

from intake_bot.config import ConfigError, load_settings, mask_url

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
