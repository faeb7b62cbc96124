"""Staff emails link to the web console when `web.base_url` is set, and name the CLI when not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from intake_bot.mail.render import Renderer

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
CONSOLE = "https://intake-bot.example.nhs.uk"


def _digest(console: str) -> dict[str, Any]:
    row = {
        "path": "/requests/LR-000007",
        "reference": "LR-000007",
        "kind": "New relationship",
        "status": "triaged",
        "organisation": "NHS Leeds CCG",
        "received": "01/12/2026",
        "age_days": 3,
        "due_on": "15/12/2026",
        "assigned_to": "",
        "problems": 0,
    }
    return {
        "team": "DSfC",
        "reply_address": "dsfc@example.nhs.uk",
        "watched_subject": "x",
        "sender_name": "North team",
        "console": console,
        "office": "North",
        "day": "04/12/2026",
        "total": 1,
        "overdue_count": 0,
        "new_count": 1,
        "since": "",
        "sections": [{"key": "new", "title": "New", "rows": [row]}],
        "review_count": 1,
        "reviews": [
            {
                "path": "/register#review-3",
                "reference": "ODS-3",
                "relationship": "LCR-000001",
                "party": "commissioner",
                "closed": "NHS LEEDS NORTH CCG (03G)",
                "closed_on": "closed on 30/06/2022",
                "successors": "NHS WEST YORKSHIRE ICB (15F)",
                "successor_count": 1,
                "waiting_since": "01/12/2026 08:00",
                "age_days": 3,
                "no_office": False,
            }
        ],
        "reviews_more": 2,
        "reviews_more_since": "02/12/2026 08:00",
    }


def _alert(console: str) -> dict[str, Any]:
    return {
        "team": "DSfC",
        "reply_address": "dsfc@example.nhs.uk",
        "watched_subject": "x",
        "sender_name": "colleague",
        "console": console,
        "message": "MSG-12",
        "where": ["body"],
        "received": "04/12/2026 09:00",
    }


def test_the_digest_and_the_patient_data_alert_link_to_the_console() -> None:
    renderer = Renderer(TEMPLATES)
    digest = renderer.render("digest", _digest(CONSOLE))
    assert f"{CONSOLE}/requests/LR-000007" in digest.text
    assert f'href="{CONSOLE}/requests/LR-000007"' in digest.html
    assert f"{CONSOLE}/queues" in digest.text and "intake-bot queue" not in digest.text
    assert f"{CONSOLE}/register#review-3" in digest.text
    assert f'href="{CONSOLE}/register#review-3"' in digest.html
    assert f"lists every one, {CONSOLE}/register\n" in digest.text
    alert = renderer.render("patient_data_staff", _alert(CONSOLE))
    assert f"{CONSOLE}/messages/MSG-12" in alert.text and f"{CONSOLE}/messages/MSG-12" in alert.html


def test_without_a_console_they_name_the_cli() -> None:
    renderer = Renderer(TEMPLATES)
    digest = renderer.render("digest", _digest(""))
    assert "/requests/" not in digest.text and "intake-bot queue" in digest.text
    assert "/register" not in digest.text + digest.html
    assert "`intake-bot ods reviews` lists every one" in digest.text
    assert "<code>intake-bot ods reviews</code> lists every one" in digest.html
    alert = renderer.render("patient_data_staff", _alert(""))
    assert "intake-bot message show MSG-12" in alert.text
