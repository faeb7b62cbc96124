"""A relationship in the register the way one gets there: a form emailed, filed, approved."""

from __future__ import annotations

from collections.abc import Iterator

from intake_bot.bootstrap import App
from intake_bot.domain.organisations import SuccessionReview
from intake_bot.domain.records import Relationship
from intake_bot.domain.triage import parse_request_reference
from intake_bot.ports import MessageRef
from intake_bot.samples import DOCX, docx_form, email, new_request
from intake_bot.services.register import apply_approved_request


def approved_relationship(app: App, uids: Iterator[int], **values: str) -> Relationship:
    """A request filed from an emailed form (at mailbox place INBOX/next(uids), so that the
    caller's other emails keep places of their own) and approved by "jo"."""
    raw = email(attachments=[("form.docx", DOCX, docx_form(new_request(0, **values)))])
    result = app.intake.ingest(raw, MessageRef("INBOX", str(next(uids))), now=app.clock())
    request_id = parse_request_reference(result.references[0])
    assert request_id is not None
    with app.store.unit() as unit:
        request = unit.requests.get(request_id)
        assert request is not None
        request.status = "approved"
        return apply_approved_request(unit, request, now=app.clock(), actor="jo")


def review_items(app: App, statuses: tuple[str, ...], first: int = 1) -> None:
    """ODS review items in `statuses` (open, carried, ended...), one on each of new North
    relationships LCR-00000<first>, ... (nothing else about them is real)."""
    with app.store.unit() as unit:
        for n, status in enumerate(statuses, start=first):
            rel = unit.add(Relationship(f"LCR-00000{n}", app.clock(), app.clock(), dscro="North"))
            unit.flush()
            assert rel.id is not None
            review = SuccessionReview(rel.id, rel.reference, "commissioner", "03G", app.clock())
            review.status = status
            unit.add(review)
