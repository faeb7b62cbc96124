"""Credentials refused for good, and credentials about to expire, on the fakes: one log line and
one staff alert per fault, no more token requests until the credentials change, and warnings
30 and 7 days ahead, each once."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest

from intake_bot.config import PACKAGED_TEMPLATES, MailboxSettings
from intake_bot.mail.render import Renderer
from intake_bot.ports import Credential, CredentialsError
from intake_bot.services.credentials import Credentials
from intake_bot.services.mailboxes import Mailboxes
from tests.fakes.intake import Rig, make_rig

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Refusing:
    """A mailbox whose token is refused: counts the attempts (each one a token request)."""

    name = "enquiries"
    push = False

    def __init__(self) -> None:
        self.attempts = 0
        self.permanent = True

    def changes(self, cursor: str | None) -> object:
        self.attempts += 1
        raise CredentialsError(
            "mailbox: the token was refused (invalid_grant: AADSTS50173: revoked)",
            permanent=self.permanent,
            fix="sign in again with `intake-bot auth login enquiries`",
        )

    def close(self) -> None:
        pass


def _setup(
    rig: Rig, fingerprint: list[str], expires: date | None = None
) -> tuple[Credentials, Mailboxes, Refusing]:
    credential = Credential("enquiries", "mailbox", lambda: fingerprint[0], expires)
    credentials = Credentials(
        store=rig.store,
        notifier=rig.intake.notifier,
        clock=rig.clock,
        recipients=["ops@example.nhs.uk"],
        known=lambda: [credential],
        signer=lambda name, show: "nobody",
    )
    source = Refusing()
    mailboxes = Mailboxes(
        intake=rig.intake,
        clock=rig.clock,
        worker_id="test",
        boxes=[MailboxSettings(name="enquiries")],
        open_source=lambda box: source,  # type: ignore[arg-type,return-value]
        credentials=credentials,
    )
    return credentials, mailboxes, source


def _alerts(rig: Rig) -> list[str]:
    """What each alert is about, from what its template was given."""
    return [
        f"{c['what']} stopped" if c["stopped"] else f"{c['what']} {c['expires']} ({c['days_left']})"
        for c in rig.contexts("credentials_alert")
    ]


def test_a_revoked_sign_in_stops_the_mailbox_with_one_log_line_and_one_alert(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig = make_rig()
    rig.clock.now = NOW
    fingerprint = ["signed-in-1"]
    credentials, mailboxes, source = _setup(rig, fingerprint)
    with caplog.at_level(logging.INFO):
        for _ in range(5):
            assert mailboxes.poll("enquiries") is None
    assert source.attempts == 1  # no retry storm: the token endpoint was asked once
    said = [r for r in caplog.records if "token was refused" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.ERROR  # one clear line
    assert "auth login enquiries" in said[0].getMessage()
    (subject,) = _alerts(rig)
    assert "enquiries" in subject and "stopped" in subject
    (email,) = [o for o in rig.outbox() if o.kind == "credentials_alert"]
    assert email.recipients == ["ops@example.nhs.uk"]
    assert credentials.stopped("enquiries") is not None

    # The operator signs in again: the mailbox is tried at once; still refused: one more alert.
    fingerprint[0] = "signed-in-2"
    assert mailboxes.poll("enquiries") is None
    assert source.attempts == 2
    assert len(_alerts(rig)) == 2
    # A restart (a new service over the same store) alerts no one again for the same fault.
    _again, boxes, _ = _setup(rig, fingerprint)
    boxes.poll("enquiries")
    assert len(_alerts(rig)) == 2


def test_a_temporary_fault_is_retried_and_alerts_no_one() -> None:
    rig = make_rig()
    rig.clock.now = NOW
    credentials, mailboxes, source = _setup(rig, ["x"])
    source.permanent = False
    mailboxes.poll("enquiries")
    mailboxes.poll("enquiries")
    assert source.attempts == 2
    assert _alerts(rig) == [] and credentials.stopped("enquiries") is None


@pytest.mark.parametrize(
    ("days_before", "sent"),
    [(31, 0), (30, 1), (8, 1), (7, 1), (0, 1), (-3, 1)],
)
def test_expiry_warnings_30_and_7_days_ahead(days_before: int, sent: int) -> None:
    rig = make_rig()
    rig.clock.now = NOW
    expires = NOW.date() + timedelta(days=days_before)
    credentials, _, _ = _setup(rig, ["x"], expires)
    assert len(credentials.warn_expiring()) == sent
    assert credentials.warn_expiring() == []  # once
    assert len(_alerts(rig)) == sent


def test_expiry_warnings_each_once_over_the_weeks() -> None:
    rig = make_rig()
    expires = date(2027, 1, 31)
    credentials, _, _ = _setup(rig, ["x"], expires)
    subjects: list[str] = []
    day = datetime(2026, 12, 20, 9, 0, tzinfo=UTC)
    while day.date() <= expires + timedelta(days=2):
        rig.clock.now = day
        credentials.warn_expiring()
        day += timedelta(days=1)
    subjects = _alerts(rig)
    assert len(subjects) == 2  # 30 days ahead, then 7 days ahead; nothing else
    assert subjects == [
        "the mailbox enquiries 31/01/2027 (30)",
        "the mailbox enquiries 31/01/2027 (7)",
    ]


@pytest.mark.parametrize(
    "context",
    [
        {"what": "the mailbox enquiries", "fault": "refused", "fix": "sign in", "stopped": True},
        {"what": "outgoing mail", "setting": "outgoing", "expires": "31/01/2027", "days_left": 7,
         "stopped": False},
        {"what": "outgoing mail", "setting": "outgoing", "expires": "31/01/2027", "days_left": -2,
         "stopped": False},
    ],
)  # fmt: skip
def test_the_alert_renders(context: dict[str, object]) -> None:
    renderer = Renderer(PACKAGED_TEMPLATES)
    base = {"team": "DSfC", "reply_address": "dsfc@example.nhs.uk", "sender_name": "colleague"}
    rendered = renderer.render("credentials_alert", {**base, **context})
    assert "\n" not in rendered.subject and "{" not in rendered.text
    if context["stopped"]:
        assert "has stopped" in rendered.subject and "sign in" in rendered.text
    elif context["days_left"] == 7:
        assert "expire on 31/01/2027 (7 days)" in rendered.subject
    else:
        assert "expired on 31/01/2027" in rendered.subject and "expired on" in rendered.html
