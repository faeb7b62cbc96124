"""Each `[[mailbox]]` becomes its mail source without connecting; a bad one is a ConfigError that
names the setting, found when the worker starts rather than on every poll."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake_bot.config import ConfigError, Settings, load_settings
from intake_bot.mail.imap import ImapMailbox
from intake_bot.mail.maildir import MaildirMailbox
from intake_bot.mail.sources import check_sources, open_source


def _settings(
    tmp_path: Path, *urls_and_options: str, env: dict[str, str] | None = None
) -> Settings:
    blocks = []
    for i, block in enumerate(urls_and_options):
        blocks.append(f'[[mailbox]]\nname = "box{i}"\n{block}\n')
    cfg = tmp_path / "mailboxes.toml"
    cfg.write_text("".join(blocks))
    return load_settings(cfg, env=env or {})


def test_sources_are_built_by_scheme_and_named_after_their_mailbox(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("secret\n")
    settings = _settings(
        tmp_path,
        f'url = "maildir:{tmp_path / "mail"}"',
        # An unresolvable host: building the source must not connect.
        f'url = "imaps://intake@mail.invalid/Requests"\npassword_file = "{tmp_path / "pw"}"',
    )
    maildir, imap = (open_source(settings, box) for box in settings.mailboxes)

    assert isinstance(maildir, MaildirMailbox) and maildir.name == "box0"
    assert isinstance(imap, ImapMailbox) and imap.name == "box1"
    check_sources(settings)  # nothing wrong, nothing connected


def test_the_first_mailbox_takes_its_password_from_the_environment(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        'url = "imap://intake@127.0.0.1:1143/INBOX?tls=none"',
        env={"INTAKE_BOT_MAILBOX_PASSWORD": "from-env"},
    )
    assert isinstance(open_source(settings, settings.mailbox), ImapMailbox)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ('url = "pop3://intake@mail.example/INBOX"', "mailbox[1].url: unknown scheme 'pop3'"),
        ('url = "imaps://mail.example/INBOX"', "mailbox[1].url: name the user and the host"),
        ('url = "imaps://intake@/INBOX"', "mailbox[1].url: name the user and the host"),
        (
            'url = "imaps://intake@mail.example/INBOX"',
            "mailbox[1]: an IMAP mailbox needs a password",
        ),
        (
            'url = "imaps://intake@mail.example/INBOX"\npassword_file = "/nonexistent/pw"',
            "mailbox[1].password_file: cannot read /nonexistent/pw",
        ),
        (
            'url = "imap://intake@mail.example/INBOX?tls=maybe"\npassword_file = "PW"',
            "mailbox[1].url: tls=maybe is not one of ssl, starttls, none",
        ),
        (
            'url = "imap://intake@mail.example/INBOX?tls=none"\npassword_file = "PW"',
            "mailbox[1].url: refusing to log in to mail.example without TLS",
        ),
        (
            'url = "imaps://intake@mail.example:99999999/INBOX"\npassword_file = "PW"',
            "mailbox[1].url: Port out of range",
        ),
        ('url = "maildir:"', "mailbox[1].url: name the folder"),
    ],
)
def test_a_bad_mailbox_is_a_config_error_naming_the_setting(
    tmp_path: Path, options: str, expected: str
) -> None:
    (tmp_path / "pw").write_text("secret\n")
    options = options.replace('"PW"', f'"{tmp_path / "pw"}"')
    settings = _settings(tmp_path, f'url = "maildir:{tmp_path / "mail"}"', options)

    with pytest.raises(ConfigError) as caught:
        check_sources(settings)

    assert str(caught.value).startswith(expected), str(caught.value)
    assert "secret" not in str(caught.value)


def test_every_bad_mailbox_is_named_at_once(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        'url = "pop3://intake@mail.example/INBOX"',
        'url = "imaps://intake@mail.example/INBOX"',
    )
    with pytest.raises(ConfigError) as caught:
        check_sources(settings)
    assert [p.split(":")[0] for p in caught.value.problems] == ["mailbox.url", "mailbox[1]"]
    assert "INTAKE_BOT_MAILBOX_PASSWORD" not in caught.value.problems[1]  # it sets the first only
