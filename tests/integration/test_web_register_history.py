"""A relationship's history in the console, on SQLite and PostgreSQL: linked from the register
for staff of its office, its versions and every request about it (one never applied included),
and 404 for another office's relationship, as for its requests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from starlette.testclient import TestClient

from intake_bot.bootstrap import App
from intake_bot.domain.records import Relationship
from intake_bot.domain.triage import parse_request_reference
from intake_bot.ports import MessageRef
from intake_bot.samples import DOCX, docx_form, email, new_request
from intake_bot.services.register import apply_approved_request
from tests.conftest import FrozenClock
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


def _file_change(app: App, i: int, key: str, **values: str) -> str:
    change = new_request(
        i,
        request_type="Change to an existing relationship",
        change_description="As below.",
        **values,
    )
    raw = email(attachments=[("change.docx", DOCX, docx_form(change))])
    (reference,) = app.intake.ingest(raw, MessageRef("test", key)).references
    return reference


def test_another_offices_request_on_it_is_counted_not_shown(app: App, console: TestClient) -> None:
    north = _approve(app, file_request(app, 0))
    # London's staff file a change naming North's relationship, with a note of their own
    theirs = _file_change(app, 3, "london", existing_reference=north.reference)
    app.requests.add_note(theirs, "London's internal note", actor="lou.london@nhs.net")
    sign_in(console, NORTH_CASEWORKER)
    page = console.get(f"/register/{north.reference}").text
    assert "London's internal note" not in page and theirs not in page
    assert "of another office's request" in page


def test_a_relationship_moving_office_is_opened_by_the_staff_the_register_links(
    app: App, console: TestClient, clock: FrozenClock
) -> None:
    rel = _approve(app, file_request(app, 0))  # North's, from 01/04/2016
    clock.now = datetime(2016, 5, 2, 9, tzinfo=UTC)
    # approved to move to London from a later day: today's register still lists it as North's
    _approve(
        app,
        _file_change(
            app,
            0,
            "move",
            existing_reference=rel.reference,
            dscro="London",
            effective_date="01/06/2016",
        ),
    )
    (row,) = app.register.rows(published_only=False)
    assert row.dscro == "North"  # in force today
    sign_in(console, NORTH_CASEWORKER)
    assert f'href="/register/{rel.reference}"' in console.get("/register?all=1").text
    page = console.get(f"/register/{rel.reference}")
    assert page.status_code == 200
    # the move shows, though London's request that made it is not North's to open
    versions = page.text.split("Versions of")[1].split("</table>")[0]
    assert ">North<" in versions and ">London<" in versions
    assert 'href="/requests/LR-000001"' in versions
    assert "LR-000002" in versions and 'href="/requests/LR-000002"' not in versions
