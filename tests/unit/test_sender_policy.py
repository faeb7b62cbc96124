from __future__ import annotations

from intake_bot.domain.sender import authentication_results, dmarc_concern

OURS = "mx.dsfc.example.nhs.uk"


def test_only_our_own_servers_verdict_is_believed() -> None:
    headers = [
        "evil.example; dmarc=pass header.from=nhs.net",  # written by the sender: ignored
        f"{OURS}; dkim=pass header.d=nhs.net; spf=pass;"
        " dmarc=fail (p=quarantine) header.from=nhs.net",
    ]
    assert authentication_results(headers, OURS) == {"dkim": "pass", "spf": "pass", "dmarc": "fail"}
    assert dmarc_concern(headers, OURS, "nhs.net") is not None


def test_a_pass_at_our_server_raises_no_concern() -> None:
    assert dmarc_concern([f"{OURS} 1; dmarc=pass header.from=nhs.net"], OURS, "nhs.net") is None


def test_missing_verdict_is_a_concern_when_the_check_is_on() -> None:
    concern = dmarc_concern([], OURS, "nhs.net")
    assert concern is not None and "(none)" in concern


def test_no_check_without_an_authserv_id() -> None:
    assert dmarc_concern(["anything; dmarc=fail"], "", "nhs.net") is None
