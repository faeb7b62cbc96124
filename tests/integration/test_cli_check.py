"""`intake-bot check`: each mailbox and the outgoing server reached step by step over real
sockets (the private Dovecot, an aiosmtpd server), each fault named with what to do; exit 0 only
when everything works. The check changes nothing: no flag, no folder, no message sent."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from intake_bot.cli import app
from intake_bot.mail.maildir import deliver
from intake_bot.samples import DOCX, docx_form, email, new_request
from tests.servers import DovecotServer, SmtpServer, free_port, require, running_smtp_server

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
FILED = "$IntakeBotFiled"


def _config(tmp_path: Path, boxes: str, outgoing: str | None = None) -> Path:
    cfg = tmp_path / "intake-bot.toml"
    cfg.write_text(
        f"""{boxes}
[database]
url = "sqlite:///{tmp_path / "bot.db"}"

[outgoing]
{outgoing or f'url = "file:{tmp_path / "outbox"}"'}

[paths]
s251 = "{REPO / "config/s251.toml"}"
organisations = "{REPO / "config/organisations.toml"}"
"""
    )
    return cfg


def _secret(tmp_path: Path, name: str, value: str) -> Path:
    path = tmp_path / f"{name}.secret"
    path.write_text(value + "\n")
    return path


def _imap(name: str, url: str, password_file: Path, extra: str = "") -> str:
    return f"""
[[mailbox]]
name = "{name}"
url = "{url}"
password_file = "{password_file}"
{extra}
"""


def _plain(dovecot: DovecotServer, user: str, folder: str = "INBOX") -> str:
    return f"imap://{user}@{dovecot.host}:{dovecot.port}/{folder}?tls=none"


def _check(cfg: Path, *args: str) -> tuple[int, str]:
    clean: dict[str, str | None] = {k: None for k in os.environ if k.startswith("INTAKE_BOT_")}
    result = CliRunner().invoke(app, ["--config", str(cfg), "check", *args], env=clean)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout


def _report(cfg: Path, *args: str) -> tuple[int, dict[str, Any]]:
    code, out = _check(cfg, *args, "--json")
    return code, json.loads(out)


def _steps(report: dict[str, Any], subject: str) -> dict[str, list[dict[str, Any]]]:
    """The findings of `subject` by step (a step such as capabilities has several)."""
    found = next(s for s in report["subjects"] if s["subject"] == subject)
    steps: dict[str, list[dict[str, Any]]] = {}
    for finding in found["findings"]:
        steps.setdefault(finding["step"], []).append(finding)
    return steps


def _words(text: str) -> str:
    return " ".join(text.split())  # the report wraps long lines to the terminal


@pytest.fixture
def tls_smtp() -> Iterator[SmtpServer]:
    with running_smtp_server(user="mailer", password="mailer-secret", tls=True) as server:
        yield server


def test_everything_good_over_tls_is_exit_0_and_each_step_is_shown(
    tmp_path: Path, dovecot: DovecotServer, tls_smtp: SmtpServer
) -> None:
    require(dovecot.tls_port is not None, "openssl is needed for the TLS Dovecot")
    dovecot.reset()
    with dovecot.client() as client:
        client.append("INBOX", email())  # waiting
        client.append("INBOX", email(), flags=[FILED])  # filed already
        client.append("INBOX", email(subject="Lunch on Friday"))
    url = f"imaps://{dovecot.user}@{dovecot.host}:{dovecot.tls_port}/INBOX"
    box = _imap(
        "enquiries",
        url,
        _secret(tmp_path, "imap", dovecot.password),
        f'ca_file = "{dovecot.certificate}"',
    )
    outgoing = f"""url = "smtp://mailer@{tls_smtp.host}:{tls_smtp.port}"
password_file = "{_secret(tmp_path, "smtp", "mailer-secret")}"
ca_file = "{tls_smtp.certificate}"
from_address = "dsfc.enquiries@example.nhs.uk"
"""
    cfg = _config(tmp_path, box, outgoing)

    code, text = _check(cfg)
    assert code == 0, text
    shown = _words(text)
    for step in ("DNS", "TCP", "TLS", "login", "folder", "capabilities", "messages"):
        assert f" {step} " in shown, step
    assert "EHLO" in shown and "AUTH" in shown
    # The test certificates last two days: a warning, which does not fail the check.
    assert "warn TLS" in shown and "Everything works (2 warnings)." in shown
    assert dovecot.password not in text and "mailer-secret" not in text

    code, report = _report(cfg)
    assert code == 0 and report["ok"] is True
    imap = _steps(report, "mailbox enquiries")
    (tls,) = imap["TLS"]
    assert tls["warning"] is True and "renew" in tls["fix"]
    assert "CN=localhost" in tls["detail"] and "verified" in tls["detail"]
    assert "in 1 day" in tls["detail"] or "in less than a day" in tls["detail"]
    (login,) = imap["login"]
    assert login["ok"] and "mailbox.password_file" in login["detail"]
    caps = " ".join(f["detail"] for f in imap["capabilities"])
    for name in ("IDLE present", "MOVE present", "UIDPLUS present", "CONDSTORE present"):
        assert name in caps
    (processed,) = imap["processed"]
    assert "Processed does not exist yet: made on first use" in processed["detail"]
    (messages,) = imap["messages"]
    assert messages["detail"] == "3 in INBOX; 2 not filed yet, 1 of them with the watched subject"
    smtp = _steps(report, "outgoing")
    assert smtp["TLS"][0]["ok"] and "STARTTLS" in smtp["TLS"][0]["detail"]
    assert "AUTH" in smtp["EHLO"][0]["detail"] and smtp["AUTH"][0]["ok"]

    assert tls_smtp.messages() == []  # nothing was sent
    with dovecot.client() as client:
        assert [name for _f, _s, name in client.list_folders()] == ["INBOX"]  # none made
        client.select_folder("INBOX", readonly=True)
        flags = client.get_flags(client.search("ALL"))
    assert all(b"\\Seen" not in f for f in flags.values())  # nothing marked read


def test_a_wrong_password_is_named_and_the_other_mailbox_still_works_and_is_filed(
    tmp_path: Path, dovecot: DovecotServer
) -> None:
    dovecot.reset()
    dovecot.reset("other")
    with dovecot.client() as client:
        client.append("INBOX", email(attachments=[("f.docx", DOCX, docx_form(new_request(0)))]))
    extra = "allow_plain_auth = true"
    boxes = _imap(
        "good", _plain(dovecot, "intake"), _secret(tmp_path, "good", dovecot.password), extra
    ) + _imap("bad", _plain(dovecot, "other"), _secret(tmp_path, "bad", "not-the-password"), extra)
    cfg = _config(tmp_path, boxes)

    code, text = _check(cfg)
    assert code == 1, text
    assert "FAIL login" in _words(text) and "not-the-password" not in text
    code, report = _report(cfg)
    assert code == 1 and report["ok"] is False
    good, bad, outgoing = report["subjects"]
    assert (good["subject"], good["ok"]) == ("mailbox good", True)
    assert (bad["subject"], bad["ok"]) == ("mailbox bad", False)
    assert outgoing["ok"] is True
    (login,) = _steps(report, "mailbox bad")["login"]
    assert "refused the password for other" in login["detail"]
    assert "AUTHENTICATIONFAILED" in login["detail"]
    assert "mailbox[1].password_file" in login["fix"]
    assert "folder" not in _steps(report, "mailbox bad")  # nothing after the failed step

    # `run --once` with the same two mailboxes still files the good one's request.
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_BOT_")}
    done = subprocess.run(
        [sys.executable, "-m", "intake_bot", "--config", str(cfg), "run", "--once"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 0, done.stderr
    assert len(errors) == 1 and "mailbox bad" in errors[0], done.stderr
    assert "1 request(s) filed" in done.stdout


def test_a_port_nobody_listens_on_is_a_tcp_fault(tmp_path: Path, dovecot: DovecotServer) -> None:
    port = free_port()
    url = f"imap://{dovecot.user}@127.0.0.1:{port}/INBOX?tls=none"
    box = _imap("enquiries", url, _secret(tmp_path, "imap", "x"), "allow_plain_auth = true")
    code, report = _report(_config(tmp_path, box))
    assert code == 1
    steps = _steps(report, "mailbox enquiries")
    assert steps["DNS"][0]["ok"]
    (tcp,) = steps["TCP"]
    assert not tcp["ok"]
    assert tcp["detail"] == f"nothing listens on 127.0.0.1:{port} (connection refused)"
    assert "the port in mailbox.url" in tcp["fix"]
    assert "login" not in steps


def test_a_missing_watched_folder_is_named_with_the_folders_there_are(
    tmp_path: Path, dovecot: DovecotServer
) -> None:
    dovecot.reset()
    box = _imap(
        "Enquiries",
        _plain(dovecot, dovecot.user, "Requests"),
        _secret(tmp_path, "imap", dovecot.password),
        "allow_plain_auth = true",
    )
    code, report = _report(_config(tmp_path, box), "enquiries")  # the name in any case
    assert code == 1
    steps = _steps(report, "mailbox Enquiries")
    (folder,) = steps["folder"]
    assert not folder["ok"]
    assert folder["detail"] == "the watched folder 'Requests' does not exist"
    assert "mailbox.url" in folder["fix"] and "INBOX" in folder["fix"]
    assert "messages" not in steps
    assert steps["login"][0]["ok"] and steps["capabilities"]


def test_an_untrusted_certificate_fails_tls_and_no_password_is_sent(
    tmp_path: Path, dovecot: DovecotServer
) -> None:
    require(dovecot.tls_port is not None, "openssl is needed for the TLS Dovecot")
    url = f"imaps://{dovecot.user}@{dovecot.host}:{dovecot.tls_port}/INBOX"
    box = _imap("enquiries", url, _secret(tmp_path, "imap", dovecot.password))
    code, report = _report(_config(tmp_path, box))
    assert code == 1
    steps = _steps(report, "mailbox enquiries")
    (tls,) = steps["TLS"]
    assert not tls["ok"] and "not trusted" in tls["detail"]
    assert "CN=localhost" in tls["detail"]  # what the server showed, read without trusting it
    assert "mailbox.ca_file" in tls["fix"]
    assert "login" not in steps


def test_a_wrong_smtp_password_is_an_auth_fault(tmp_path: Path, smtp: SmtpServer) -> None:
    outgoing = f"""url = "smtp://mailer@{smtp.host}:{smtp.port}?tls=none"
allow_plain_auth = true
password_file = "{_secret(tmp_path, "smtp", "wrong")}"
"""
    box = f'[[mailbox]]\nname = "local"\nurl = "maildir:{tmp_path / "mail"}"\n'
    code, report = _report(_config(tmp_path, box, outgoing))
    assert code == 1
    steps = _steps(report, "outgoing")
    assert steps["EHLO"][0]["ok"]
    (auth,) = steps["AUTH"]
    assert not auth["ok"] and "refused the password for mailer" in auth["detail"]
    assert "535" in auth["detail"] and "outgoing.password_file" in auth["fix"]
    assert smtp.messages() == []


def test_a_maildir_and_the_file_outbox_count_what_waits(tmp_path: Path) -> None:
    maildir = tmp_path / "mail"
    deliver(maildir, email())
    deliver(maildir, email(subject="Lunch on Friday"))
    box = f'[[mailbox]]\nname = "local"\nurl = "maildir:{maildir}"\n'
    code, report = _report(_config(tmp_path, box))
    assert code == 0, report
    steps = _steps(report, "mailbox local")
    assert steps["writable"][0]["ok"]
    detail = steps["messages"][0]["detail"]
    assert detail == "2 waiting in new/, 1 of them with the watched subject"
    assert (
        "does not exist yet: the first send makes it"
        in _steps(report, "outgoing")["outbox"][0]["detail"]
    )
    assert sorted(p.name for p in (maildir / "tmp").iterdir()) == []  # the probe file is gone


def test_a_host_that_does_not_resolve_is_a_dns_fault(tmp_path: Path) -> None:
    url = "imaps://intake@mail.no-such-host.invalid/INBOX"
    box = _imap("enquiries", url, _secret(tmp_path, "imap", "x"), "timeout_seconds = 3")
    code, report = _report(_config(tmp_path, box))
    assert code == 1
    steps = _steps(report, "mailbox enquiries")
    (dns,) = steps["DNS"]
    assert not dns["ok"] and "mail.no-such-host.invalid" in dns["detail"]
    assert "the host name in mailbox.url" in dns["fix"]
    assert "TCP" not in steps


def _jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        raw = json.dumps(data).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part(claims)}.c2lnbmF0dXJl"


def test_a_token_is_described_by_its_claims_and_a_refusal_says_what_to_check(
    tmp_path: Path, dovecot: DovecotServer
) -> None:
    token = _jwt(
        {"aud": "https://outlook.office365.com", "roles": ["IMAP.AccessAsApp"],
         "exp": int(time.time()) + 3600}
    )  # fmt: skip
    token_file = _secret(tmp_path, "token", token)
    box = f"""
[[mailbox]]
name = "enquiries"
url = "{_plain(dovecot, dovecot.user)}"
allow_plain_auth = true
auth = "oauth2-token-file"
oauth2_token_file = "{token_file}"
"""
    code, text = _check(_config(tmp_path, box))
    assert code == 1
    assert token not in text and token.split(".")[1][:20] not in text
    code, report = _report(_config(tmp_path, box))
    steps = _steps(report, "mailbox enquiries")
    (got,) = steps["token"]
    assert got["ok"] and "roles IMAP.AccessAsApp" in got["detail"]
    assert "for https://outlook.office365.com" in got["detail"]
    assert "expires in 59 min" in got["detail"] or "expires in 60 min" in got["detail"]
    (login,) = steps["login"]  # this Dovecot takes passwords only
    assert not login["ok"] and "refused the token for intake" in login["detail"]
    assert "scopes or roles" in login["fix"]
