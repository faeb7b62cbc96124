"""A form may name its regional office by one of the office's configured aliases ("M&E"), as the
queues, the digests and the register import already take them: the request is filed under the
office's own name, in its queue, and `parse` says the same."""

from __future__ import annotations

from pathlib import Path

from intake_bot.bootstrap import App
from intake_bot.domain.fields import FIELDS_BY_KEY
from intake_bot.domain.triage import office_slug
from intake_bot.mail.maildir import deliver
from intake_bot.samples import email, new_request
from intake_bot.services.preview import Verdict
from intake_bot.worker import Worker


def _typed(office: str) -> bytes:
    values = {**new_request(0), "dscro": office}
    lines = "\n".join(f"{FIELDS_BY_KEY[k].label}: {v}" for k, v in values.items())
    return email(body=f"Hello,\n\n{lines}\n\nKind regards\n")


def test_an_alias_on_the_form_files_the_request_under_the_office(app: App) -> None:
    (office,) = [d for d in app.settings.dscro if d.aliases]
    alias = office.aliases[-1]
    deliver(Path(app.settings.mailbox.url.split(":", 1)[1]), _typed(alias))
    Worker(app).run_once()

    with app.store.unit() as unit:
        (request,) = unit.requests.matching()
        assert request.values["dscro"] == office.name
        assert request.problems == []
        assert request.queue == f"{office_slug(office.name)}/new"


def test_parse_reads_the_alias_as_the_poll_does(app: App) -> None:
    (office,) = [d for d in app.settings.dscro if d.aliases]
    preview = app.intake.parse("typed.eml", _typed(office.aliases[-1]))
    assert preview.verdict is Verdict.ACCEPTED, preview.summary
    (form,) = preview.requests
    assert form.complete and form.problems == (), form.problems
    assert form.values["dscro"] == office.name
