"""`intake-bot check` of a Microsoft Graph mailbox and of Graph as the outgoing server, against
the Graph simulator on loopback (and the private Dovecot's TLS port for the https handshake):
each step shown, each fault named with what to do, and nothing but GETs ever sent."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from intake_bot.samples import email
from tests.graph_sim import GraphSim, running_graph_sim
from tests.integration.test_cli_check import _check, _config, _jwt, _report, _steps, _words
from tests.servers import DovecotServer, require

pytestmark = pytest.mark.integration

BOX = "mailbox enquiries"
GRAPH = "https://graph.microsoft.com"


@pytest.fixture
def sim() -> Iterator[GraphSim]:
    with running_graph_sim() as graph:
        yield graph


def _token(tmp_path: Path, sim: GraphSim, name: str, **claims: object) -> Path:
    """A JWT that the simulator accepts, with `claims` (roles, scp) for the check to read."""
    token = _jwt({"aud": GRAPH, "exp": int(time.time()) + 3600, **claims})
    sim.tokens.add(token)
    path = tmp_path / f"{name}.token"
    path.write_text(token + "\n")
    return path


def _graph_config(
    tmp_path: Path,
    sim: GraphSim,
    token: Path,
    folder: str = "Inbox",
    mailbox: str = "",
    out_token: Path | None = None,
    api_url: str = "",
    extra: str = "",
) -> Path:
    common = f"""auth = "oauth2-token-file"
graph_api_url = "{api_url or sim.base_url}"
timeout_seconds = 5
"""
    box = f"""
[[mailbox]]
name = "enquiries"
url = "graph://{mailbox or sim.mailbox}/{folder}"
oauth2_token_file = "{token}"
{common}{extra}"""
    outgoing = f"""url = "graph://{mailbox or sim.mailbox}"
oauth2_token_file = "{out_token or token}"
from_address = "{sim.mailbox}"
{common}"""
    return _config(tmp_path, box, outgoing)


def _only_reads(sim: GraphSim) -> None:
    assert sim.requests, "the check asked Graph nothing"
    assert {r.method for r in sim.requests} == {"GET"}
    assert sim.sent == []


def test_a_good_graph_mailbox_and_outgoing_show_each_step_and_exit_0(
    tmp_path: Path, sim: GraphSim
) -> None:
    sim.add_folder("Processed")
    for message in (email(), email(), email(subject="Lunch on Friday")):
        sim.add_message(message)
    folders, messages = set(sim.folders), {m.id: m.folder for m in sim.messages.values()}
    token = _token(tmp_path, sim, "app", roles=["Mail.ReadWrite", "Mail.Send"])
    cfg = _graph_config(tmp_path, sim, token)

    code, text = _check(cfg)
    assert code == 0, text
    shown = _words(text)
    for step in ("DNS", "TCP", "TLS", "token", "login", "mailbox", "folder", "messages"):
        assert f"ok {step} " in shown, step
    assert "Everything works." in shown
    assert token.read_text().strip() not in text

    code, report = _report(cfg)
    assert code == 0 and report["ok"] is True
    steps = _steps(report, BOX)
    assert steps["settings"][0]["detail"].startswith(f"graph://{sim.mailbox}/Inbox through ")
    assert "plain http, to this machine only" in steps["TLS"][0]["detail"]
    (got,) = steps["token"]
    assert "roles Mail.ReadWrite Mail.Send" in got["detail"] and not got["warning"]
    assert f"for {GRAPH}" in got["detail"]
    assert steps["folder"][0]["detail"] == "the watched folder Inbox exists"
    assert steps["processed"][0]["detail"] == "Processed exists"
    quarantine = steps["quarantine"][0]["detail"]
    assert quarantine == "Quarantine does not exist yet: made on first use"
    (waiting,) = steps["messages"]
    assert waiting["detail"] == "3 in Inbox, 2 of them with the watched subject"
    out = _steps(report, "outgoing")
    assert [s for s in out if s != "settings"] == ["DNS", "TCP", "TLS", "token", "login", "mailbox"]
    assert "sendMail is not tried" in out["mailbox"][0]["detail"]

    _only_reads(sim)
    assert set(sim.folders) == folders  # no folder made
    assert {m.id: m.folder for m in sim.messages.values()} == messages  # nothing moved


def test_a_token_graph_refuses_fails_the_login_with_what_to_do(
    tmp_path: Path, sim: GraphSim
) -> None:
    token = tmp_path / "stale.token"
    token.write_text("not-a-token-graph-knows\n")
    code, text = _check(_graph_config(tmp_path, sim, token))
    assert code == 1
    assert "FAIL login" in _words(text) and "not-a-token-graph-knows" not in text

    code, report = _report(_graph_config(tmp_path, sim, token))
    steps = _steps(report, BOX)
    assert steps["token"][0]["ok"]  # read from the file; only Graph can judge it
    (login,) = steps["login"]
    assert not login["ok"] and "Graph refused the token" in login["detail"]
    assert "InvalidAuthenticationToken" in login["detail"]
    assert "https://graph.microsoft.com" in login["fix"]
    assert "mailbox.oauth2_token_file" in login["fix"]
    assert "mailbox" not in steps and "folder" not in steps  # nothing after the failed step
    assert not _steps(report, "outgoing")["login"][0]["ok"]
    _only_reads(sim)


def test_a_missing_watched_folder_is_named_with_the_folders_there_are(
    tmp_path: Path, sim: GraphSim
) -> None:
    sim.add_folder("Archive requests")
    token = _token(tmp_path, sim, "app", roles=["Mail.ReadWrite", "Mail.Send"])
    code, report = _report(_graph_config(tmp_path, sim, token, folder="Requests"))
    assert code == 1
    steps = _steps(report, BOX)
    (folder,) = steps["folder"]
    assert not folder["ok"]
    assert folder["detail"] == f"the watched folder 'Requests' does not exist in {sim.mailbox}"
    assert "mailbox.url" in folder["fix"] and "Archive requests, Inbox" in folder["fix"]
    assert "messages" not in steps
    assert _steps(report, "outgoing")["mailbox"][0]["ok"]
    _only_reads(sim)
    assert "Requests" not in {f.name for f in sim.folders.values()}


def test_a_mailbox_the_app_may_not_open_is_explained(tmp_path: Path, sim: GraphSim) -> None:
    sim.fail(403, retry_after=None, times=1000)  # every request, as an access policy answers
    token = _token(tmp_path, sim, "app", roles=["Mail.ReadWrite", "Mail.Send"])
    code, report = _report(_graph_config(tmp_path, sim, token))
    assert code == 1
    steps = _steps(report, BOX)
    assert steps["login"][0]["ok"]  # a 403 is Graph knowing the app, and refusing it
    (mailbox,) = steps["mailbox"]
    assert not mailbox["ok"] and "HTTP 403 ErrorAccessDenied" in mailbox["detail"]
    assert "app registration has no access to this mailbox" in mailbox["fix"]
    assert "application access policy must include it" in mailbox["fix"]
    assert "folder" not in steps
    assert not _steps(report, "outgoing")["mailbox"][0]["ok"]
    _only_reads(sim)


def test_missing_grants_are_warned_and_a_send_only_token_is_not_a_fault_for_sending(
    tmp_path: Path, sim: GraphSim
) -> None:
    sim.fail(403, retry_after=None, times=1000)
    reader = _token(tmp_path, sim, "reader", scp="Mail.Read User.Read")
    sender = _token(tmp_path, sim, "sender", roles=["Mail.Send"])
    code, report = _report(_graph_config(tmp_path, sim, reader, out_token=sender))
    assert code == 1  # the mailbox cannot be read
    (got,) = _steps(report, BOX)["token"]
    assert got["warning"] and "none of Mail.ReadWrite, Mail.ReadWrite.Shared" in got["fix"]
    assert "full access" in _steps(report, BOX)["mailbox"][0]["fix"]  # a person's token
    out = _steps(report, "outgoing")
    assert not out["token"][0]["warning"]  # Mail.Send is what sending needs
    (mailbox,) = out["mailbox"]
    assert mailbox["ok"] and mailbox["warning"] and "Mail.Send alone" in mailbox["detail"]


def test_an_unknown_mailbox_is_a_mailbox_fault(tmp_path: Path, sim: GraphSim) -> None:
    token = _token(tmp_path, sim, "app", roles=["Mail.ReadWrite", "Mail.Send"])
    cfg = _graph_config(tmp_path, sim, token, mailbox="someone.else@example.nhs.uk")
    code, report = _report(cfg)
    assert code == 1
    (mailbox,) = _steps(report, BOX)["mailbox"]
    assert not mailbox["ok"] and "404 ErrorInvalidUser" in mailbox["detail"]
    assert "mailbox's address in mailbox.url" in mailbox["fix"]


def test_https_verifies_the_certificate_before_any_token_is_sent(
    tmp_path: Path, sim: GraphSim, dovecot: DovecotServer
) -> None:
    require(dovecot.tls_port is not None, "openssl is needed for the TLS Dovecot")
    # Dovecot's TLS port stands in for Graph's host: the handshake is all that is tried on it.
    api_url = f"https://{dovecot.host}:{dovecot.tls_port}/v1.0"
    token = _token(tmp_path, sim, "app", roles=["Mail.ReadWrite"])
    code, report = _report(_graph_config(tmp_path, sim, token, api_url=api_url))
    assert code == 1
    steps = _steps(report, BOX)
    (tls,) = steps["TLS"]
    assert not tls["ok"] and "not trusted" in tls["detail"] and "CN=localhost" in tls["detail"]
    assert "mailbox.ca_file" in tls["fix"]
    assert "token" not in steps

    trusted = f'ca_file = "{dovecot.certificate}"\n'
    code, report = _report(_graph_config(tmp_path, sim, token, api_url=api_url, extra=trusted))
    steps = _steps(report, BOX)
    (tls,) = steps["TLS"]
    assert tls["ok"] and "https, TLS" in tls["detail"] and "verified" in tls["detail"]
    (broken,) = steps["connection"]  # an IMAP server answers no HTTP
    assert not broken["ok"] and "run the check again" in broken["fix"]
