"""An `Intake` wired to the fakes: the in-memory store, the renderer and composer that keep what
they were given, a clock the test moves by hand, and the reference data of a small office."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from intake_bot.domain.outgoing import FileToAttach
from intake_bot.domain.records import Approval, Organisation, Outbox
from intake_bot.ports import MessageRef
from intake_bot.services.intake import IngestResult, Intake
from intake_bot.services.notify import Letterhead, Notifier
from tests.fakes import FakeStore
from tests.fakes.outgoing import FakeComposer, FakeRenderer

OUR_ADDRESS = "dsfc.enquiries@example.nhs.uk"
OFFICES = ("North", "Midlands and East", "London", "South")
APPROVALS = (
    Approval(
        reference="CAG 7-04(a)/2013",
        title="Risk stratification",
        purposes=["Risk stratification"],
        expires=date(2017, 3, 31),
    ),
)
BLANK_FORMS = (
    FileToAttach("legitimate-relationship-request.docx", "application/octet-stream", b"PK docx"),
    FileToAttach("legitimate-relationship-request.xlsx", "application/octet-stream", b"PK xlsx"),
)


class Clock:
    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2016, 3, 21, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Rig:
    store: FakeStore
    clock: Clock
    renderer: FakeRenderer
    composer: FakeComposer
    intake: Intake
    config_orgs: list[Organisation]
    config_approvals: list[Approval]
    database: bool = True  # whether `parse` finds a database to read
    delivered: int = 0

    def ingest(self, raw: bytes) -> IngestResult:
        self.delivered += 1
        return self.intake.ingest(raw, MessageRef("enquiries", str(self.delivered)))

    def all(self, cls: type[object]) -> list[object]:
        return list(self.store.memory.all(cls))

    def outbox(self) -> list[Outbox]:
        return list(self.store.memory.all(Outbox))

    def contexts(self, kind: str) -> list[dict[str, object]]:
        """The contexts the templates of `kind` were filled in with, in order."""
        return [dict(c) for k, c in self.renderer.rendered if k == kind]


def make_rig(
    approvals: Sequence[Approval] = APPROVALS, organisations: Sequence[Organisation] = ()
) -> Rig:
    """An intake over an empty fake store holding `approvals` and `organisations`."""
    store = FakeStore()
    for record in (*approvals, *organisations):
        store.memory.add(record)
    clock = Clock()
    renderer, composer = FakeRenderer(), FakeComposer()
    notifier = Notifier(
        renderer=renderer,
        composer=composer,
        letterhead=Letterhead(OUR_ADDRESS, "DSfC", "Legitimate Relationships"),
        blank_forms=lambda: BLANK_FORMS,
    )
    rig = Rig(store, clock, renderer, composer, None, [], [])  # type: ignore[arg-type]
    rig.intake = Intake(
        store=store,
        notifier=notifier,
        clock=clock,
        dscros=OFFICES,
        watched_subject="Data Services for Commissioners - Legitimate Relationships",
        own_addresses=(OUR_ADDRESS,),
        config_reference=lambda: (rig.config_orgs, rig.config_approvals),
        database_present=lambda: rig.database,
    )
    return rig
