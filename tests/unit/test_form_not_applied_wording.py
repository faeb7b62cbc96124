"""The answer to a party's form sent once its request left correction
(templates/email/form_not_applied.*), rendered from the real templates: what to do instead fits
the request's status."""

from __future__ import annotations

import pytest

from intake_bot.mail.render import Renderer
from tests.conftest import REPO

BASE = {
    "sender_name": "Aisha Khan",
    "reference": "LR-000001",
    "team": "DSfC",
    "reply_address": "dsfc@example.nhs.uk",
    "watched_subject": "Data Services for Commissioners - Legitimate Relationships",
    "console": "",
}


@pytest.mark.parametrize(
    ("status", "closed", "approved", "said", "not_said"),
    [
        ("Waiting for review", False, False, "have been told of your email", "new email"),
        ("Approved", True, True, "send a change or end request", "To ask again"),
        ("Not approved", True, False, "To ask again, please send a new request", "change or end"),
        ("Withdrawn", True, False, "To ask again, please send a new request", "change or end"),
    ],
)
def test_what_to_do_instead_fits_the_status(
    status: str, closed: bool, approved: bool, said: str, not_said: str
) -> None:
    context = {**BASE, "status": status, "closed": closed, "approved": approved}
    rendered = Renderer(REPO / "templates").render("form_not_applied", context)
    assert rendered.subject.startswith("[LR-000001] Your form was not applied")
    for text in (" ".join(rendered.text.split()), " ".join(rendered.html.split())):
        assert "its status is" in text and status in text
        assert said in text and not_said not in text
