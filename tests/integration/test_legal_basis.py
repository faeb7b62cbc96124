"""From an approval's expiry day, what relies on it shows "legal basis expired" everywhere: the
queue, the register and its export, `request show` and the reminders ask the one domain rule."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from openpyxl import load_workbook

from intake_bot.bootstrap import App
from intake_bot.domain.status import Status
from intake_bot.mail.maildir import deliver
from intake_bot.samples import DOCX, docx_form, email, new_request
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
        app.requests.change_status("LR-000001", status, actor="staff")

    def flagged() -> tuple[tuple[str, ...], str, tuple[str, ...]]:
        (open_item,) = app.queues.items().items
        (row,) = app.register.rows()
        detail = app.requests.show("LR-000001")
        return open_item.legal_basis_expired, row.legal_basis, detail.legal_basis.expired

    clock.now = datetime(2017, 3, 30, 9, tzinfo=UTC)
    assert flagged() == ((), "", ())
    clock.now = datetime(2017, 3, 31, 9, tzinfo=UTC)  # the expiry day
    assert flagged() == ((RS,), f"expired: {RS}", (RS,))

    out = tmp_path / "register.xlsx"
    assert app.register.export(out).relationships == 1
    header, first = list(load_workbook(out).worksheets[0].iter_rows(values_only=True))[:2]
    assert first[header.index("Legal basis")] == f"expired: {RS}"
