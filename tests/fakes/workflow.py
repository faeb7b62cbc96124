"""The staff use cases (requests, queues, messages, digests) wired to the fakes, over the same
store, clock, renderer and composer as the intake rig, so that a test files a request the way
a poll would and then acts on it as staff do."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from intake_bot.config import Dscro
from intake_bot.domain.records import Approval, Event, Outbox
from intake_bot.samples import DOCX, docx_form, email, new_request
from intake_bot.services.digests import Digests
from intake_bot.services.lifecycle import Requests
from intake_bot.services.messages import Messages
from intake_bot.services.queues import Queues
from tests.fakes.intake import APPROVALS, Rig, make_rig

OFFICES = [
    Dscro(name="North", staff=["north@example.nhs.uk"]),
    Dscro(
        name="Midlands and East",
        staff=["me@example.nhs.uk"],
        aliases=["Midlands & East", "M&E"],
    ),
    Dscro(name="London", staff=["london@example.nhs.uk"]),
    Dscro(name="South", staff=[]),
]
TARGETS = {"new": 10, "change": 10, "end": 5, "verification": 5}


@dataclass
class Staff:
    rig: Rig
    requests: Requests
    queues: Queues
    messages: Messages
    digests: Digests

    def file(self, i: int = 0, **values: str) -> str:
        """File one emailed form (sample commissioner `i`); its reference."""
        form = _docx(i, tuple(sorted(values.items())))
        raw = email(attachments=[("form.docx", DOCX, form)])
        (reference,) = self.rig.ingest(raw).references
        return reference

    def outbox(self, kind: str) -> list[Outbox]:
        return [o for o in self.rig.outbox() if o.kind == kind]

    def events(self, action: str) -> list[Event]:
        return [e for e in self.rig.store.memory.all(Event) if e.action == action]

    def contexts(self, kind: str) -> list[dict[str, object]]:
        return self.rig.contexts(kind)


@cache
def _docx(i: int, values: tuple[tuple[str, str], ...]) -> bytes:
    # Writing a .docx is the slow part of filing one: each distinct form is written once.
    return docx_form(new_request(i, **dict(values)))


def make_staff(approvals: tuple[Approval, ...] = APPROVALS) -> Staff:
    rig = make_rig(approvals)
    store, clock, notifier = rig.store, rig.clock, rig.intake.notifier
    return Staff(
        rig=rig,
        requests=Requests(store=store, notifier=notifier, clock=clock, targets=TARGETS),
        queues=Queues(store=store, clock=clock, offices=OFFICES),
        messages=Messages(store=store, notifier=notifier, clock=clock, intake=rig.intake),
        digests=Digests(store=store, notifier=notifier, clock=clock, offices=OFFICES),
    )
