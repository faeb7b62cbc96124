"""ODS reviews at their edges on the database, with the real templates: a relationship set up
after its organisation closed (the decision, and every word of it, dates from its own start),
and a CCG that only the successions file still names (the reports dropped it)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

from intake_bot.bootstrap import App
from intake_bot.samples import docx_form, new_request
from tests.conftest import FrozenClock
from tests.integration.test_ods import LEEDS, MAY_2026, _commissioner, _outbox, _text
from tests.ods_files import report, sub_icb_files, succ_row
from tests.register_cases import approved_relationship

JANUARY_2024 = datetime(2024, 1, 2, 9, tzinfo=UTC)
_uids = itertools.count(1)


def _set_up_in_2024(app: App, clock: FrozenClock) -> str:
    """A relationship on 03G (closed 30/06/2022) whose terms began on 01/01/2024."""
    clock.now = JANUARY_2024
    rel = approved_relationship(app, _uids, **LEEDS, effective_date="01/01/2024")
    clock.now = MAY_2026
    return rel.reference


def test_a_carry_dates_from_the_terms_in_force_and_says_so(
    app: App, clock: FrozenClock, tmp_path: Path
) -> None:
    reference = _set_up_in_2024(app, clock)
    (item,) = app.organisations.import_files(sub_icb_files(tmp_path), actor="op").reviews
    done = app.organisations.decide(item.id, "carry", actor="jo")

    assert done.changes_on is not None and f"{done.changes_on:%d/%m/%Y}" == "01/01/2024"
    (told,) = _outbox(app, "ods_decision")
    assert "From 01/01/2024 the register names" in _text(told.raw)
    assert _commissioner(app, reference)[0] == "15F"


def test_an_end_dates_from_the_terms_in_force_and_does_not_call_it_the_day_after_the_closure(
    app: App, clock: FrozenClock, tmp_path: Path
) -> None:
    _set_up_in_2024(app, clock)
    (item,) = app.organisations.import_files(sub_icb_files(tmp_path), actor="op").reviews
    app.organisations.decide(item.id, "end", actor="jo")

    (told,) = _outbox(app, "ods_decision")
    text = _text(told.raw)
    assert "it is not in force from 01/01/2024, the day its terms in force began" in text
    assert "the day after 03G" not in text


def test_a_ccg_only_the_successions_file_names_is_closed_everywhere(
    app: App, clock: FrozenClock, tmp_path: Path
) -> None:
    clock.now = datetime(2016, 4, 1, 9, tzinfo=UTC)
    approved_relationship(app, _uids, **LEEDS)
    clock.now = MAY_2026
    succ = report(tmp_path / "succ.csv", [succ_row("03G", "15F", "20220701")])
    (item,) = app.organisations.import_files([succ], actor="op").reviews  # no report at all
    assert item.closed_code == "03G" and item.successors == (("15F", ""),)

    (notice,) = _outbox(app, "ods_succession")
    assert "shows that 03G, the commissioning organisation" in _text(notice.raw)
    preview = app.previews.parse("f.docx", docx_form(new_request(0, **LEEDS)))
    (request,) = preview.requests
    assert any("03G closed on 30/06/2022; its successor is 15F" in p for p in request.problems)

    eccg, _ = sub_icb_files(tmp_path)  # the report after all: the same closure, now named
    again = app.organisations.import_files([eccg, succ], actor="op")
    assert again.reviews == () and len(_outbox(app, "ods_succession")) == 1
    assert app.organisations.import_files([eccg, succ], actor="op").unchanged
