"""From an approval's expiry day, what relies on it shows "legal basis expired" everywhere."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from openpyxl import load_workbook

from intake_bot.bootstrap import App
from intake_bot.domain.status import Status
from intake_bot.mail.maildir import deliver
from intake_bot.samples import DOCX, docx_form, email, new_request
from intake_bot.services.lifecycle import change_status, request_detail
from intake_bot.services.queues import queue_items
from intake_bot.services.register import export_register, register_rows
from intake_bot.worker import Worker
from tests.conftest import FrozenClock

RS = "CAG 7-04(a)/2013"


def test_queue_register_export_and_request_show_flag_an_expired_legal_basis(
    app: App, clock: FrozenClock, tmp_path: Path
) -> None:
    maildir = Path(app.settings.mailbox.url.split(":", 1)[1])
    for i in range(2):
        values = new_request(i, purposes="Risk stratification", s251_references=RS)
        deliver(maildir, email(attachments=[("f.docx", DOCX, docx_form(values))]))
    poll, _ = Worker(app).run_once()
    assert poll is not None and len(poll.references) == 2
    for status in (Status.IN_REVIEW, Status.APPROVED):
        change_status(
            store=app.store,
            notifier=app.intake.notifier,
            reference="LR-000001",
            target=status,
            now=clock(),
            actor="staff",
        )

    def flagged() -> tuple[list[str], str, list[str]]:
        (open_item,) = queue_items(app.store, clock())
        (row,) = register_rows(app.store, clock().date(), published_only=True)
        detail = request_detail(app.store, "LR-000001", clock())
        return open_item.legal_basis_expired, row.legal_basis, detail["legal_basis_expired"]

    clock.now = datetime(2017, 3, 30, 9, tzinfo=UTC)
    assert flagged() == ([], "", [])
    clock.now = datetime(2017, 3, 31, 9, tzinfo=UTC)  # the expiry day
    assert flagged() == ([RS], f"expired: {RS}", [RS])

    out = tmp_path / "register.xlsx"
    export_register(app.store, date(2017, 3, 31), "xlsx", out)
    header, first = list(load_workbook(out).worksheets[0].iter_rows(values_only=True))[:2]
    assert first[header.index("Legal basis")] == f"expired: {RS}"
