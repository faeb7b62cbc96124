"""A relationship's history in the console, on SQLite and PostgreSQL: linked from the register
for staff of its office, its versions and every request about it (one never applied included),
and 404 for another office's relationship, as for its requests."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from intake_bot.bootstrap import App
from intake_bot.domain.records import Relationship
from intake_bot.domain.triage import parse_request_reference
from intake_bot.ports import MessageRef
from intake_bot.samples import DOCX, docx_form, email, new_request
from intake_bot.services.register import apply_approved_request
from tests.integration.test_web_console import NORTH_CASEWORKER, file_request, sign_in
from tests.integration.test_web_console import console as console  # the fixture

pytestmark = pytest.mark.integration


def _approve(app: App, reference: str) -> Relationship:
    with app.store.unit() as unit:
        request = unit.requests.get(parse_request_reference(reference) or 0)
        assert request is not None
        request.status = "approved"
        return apply_approved_request(unit, request, now=app.clock(), actor="lee.north@nhs.net")


def test_staff_open_their_offices_relationship_histories_from_the_register(
    app: App, console: TestClient
) -> None:
    north = _approve(app, file_request(app, 0))
    london = _approve(app, file_request(app, 3))
    change = new_request(
        0,
        request_type="Change to an existing relationship",
        existing_reference=north.reference,
        change_description="The contract is extended.",
    )
    raw = email(attachments=[("change.docx", DOCX, docx_form(change))])
    (pending,) = app.intake.ingest(raw, MessageRef("test", "change")).references

    sign_in(console, NORTH_CASEWORKER)
    register = console.get("/register?all=1").text
    assert f'href="/register/{north.reference}"' in register
    assert f'href="/register/{london.reference}"' not in register  # listed, not opened
    assert london.reference in register

    page = console.get(f"/register/{north.reference}")
    assert page.status_code == 200
    assert "NHS Leeds North CCG" in page.text and ">1</th>" in page.text  # version 1
    assert f'href="/requests/{pending}"' in page.text  # filed, not yet decided
    assert "created" in page.text
    for url in (f"/register/{london.reference}", "/register/LCR-999999", "/register/nonsense"):
        assert console.get(url).status_code == 404, url
