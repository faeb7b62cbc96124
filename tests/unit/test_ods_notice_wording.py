"""The closure notice (templates/email/ods_succession.*), rendered from the real templates: what
it asks of the contacts fits how many successors ODS names, none included."""

from __future__ import annotations

import pytest

from intake_bot.mail.render import Renderer
from tests.conftest import REPO

BASE = {
    "sender_name": "Priya Shah",
    "reference": "LCR-000001",
    "party": "commissioner",
    "closed_label": "NHS LEEDS SOUTH AND EAST CCG (03G)",
    "closed_on": "30/06/2022",
    "closed_already": True,
    "updated": "",
    "closed_code": "03G",
    "closed_name": "NHS LEEDS SOUTH AND EAST CCG",
    "team": "DSfC",
    "reply_address": "dsfc@example.nhs.uk",
    "watched_subject": "Data Services for Commissioners - Legitimate Relationships",
    "console": "",
}
ONE = [{"code": "15F", "name": "NHS WEST YORKSHIRE ICB"}]
TWO = [*ONE, {"code": "42D", "name": "NHS HUMBER AND NORTH YORKSHIRE ICB"}]


@pytest.mark.parametrize(
    ("successors", "asked", "not_asked"),
    [
        ([], "or you know which organisation should take it over", "the successor"),
        (ONE, "or the successor should not take it over", "the successors should"),
        (TWO, "or the successors should not take it over", "the successor should"),
    ],
)
def test_the_notice_asks_what_fits_the_successors_ods_names(
    successors: list[dict[str, str]], asked: str, not_asked: str
) -> None:
    rendered = Renderer(REPO / "templates").render(
        "ods_succession", {**BASE, "successors": successors}
    )
    for text in (" ".join(rendered.text.split()), " ".join(rendered.html.split())):
        assert asked in text
        assert not_asked not in text
