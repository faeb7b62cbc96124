"""The console's pages about the register, s251 approvals and the outbox.

Every account reads them; leads retry failed emails; admins extend approvals and import a
register kept by hand (a dry run first, then for real). Each action names the account in the
audit trail, as every CLI command does.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path, PurePath

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from intake_bot.domain.approvals import ApprovalError
from intake_bot.domain.register import RegisterError
from intake_bot.domain.staff import Role, StaffMember
from intake_bot.web.auth import (
    application,
    check_form,
    sign_in_first,
    signed_in,
    staff_form,
    staff_only,
)
from intake_bot.web.templating import flash, render

MAX_IMPORT_BYTES = 20 * 1024 * 1024
_EXPORT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


@staff_only
def register_export(request: Request, member: StaffMember) -> Response:
    """Today's published register as a download, .xlsx or .csv."""
    fmt = request.query_params.get("format", "xlsx")
    if fmt not in _EXPORT_TYPES:
        fmt = "xlsx"
    with tempfile.TemporaryDirectory(prefix="intake-bot-export-") as folder:
        path = Path(folder) / f"register.{fmt}"
        application(request).register.export(path)
        data = path.read_bytes()
    name = f"legitimate-relationships-{date.today():%Y-%m-%d}.{fmt}"
    return Response(
        data,
        media_type=_EXPORT_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def register_import(request: Request) -> Response:
    """Admins: load a register kept by hand; "dry_run" shows what would happen."""
    member = await run_in_threadpool(signed_in, request)
    if member is None:
        return sign_in_first(request)
    if member.role is not Role.ADMIN:
        return _refused(request, "/register", "Only an admin can import a register.")
    form = await request.form()
    check_form(request, form)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _refused(request, "/register", "Choose a .xlsx or .csv file to import.")
    data = await upload.read(MAX_IMPORT_BYTES + 1)
    suffix = PurePath(upload.filename).suffix.lower()
    if len(data) > MAX_IMPORT_BYTES or suffix not in (".xlsx", ".csv"):
        return _refused(request, "/register", "Import a .xlsx or .csv file of at most 20 MB.")
    dry_run = form.get("dry_run") == "yes"
    return await run_in_threadpool(_import, request, member, upload.filename, data, dry_run=dry_run)


def _import(
    request: Request, member: StaffMember, filename: str, data: bytes, *, dry_run: bool
) -> Response:
    with tempfile.TemporaryDirectory(prefix="intake-bot-import-") as folder:
        path = Path(folder) / f"register{PurePath(filename).suffix.lower()}"
        path.write_bytes(data)
        try:
            report = application(request).register.import_file(
                path, dry_run=dry_run, actor=member.email
            )
        except RegisterError as exc:
            return _refused(request, "/register", str(exc))
    context = {"member": member, "report": report, "filename": filename}
    return render(request, "import.html", context)


@staff_only
def approvals(request: Request, member: StaffMember) -> Response:
    s251 = application(request).s251
    context = {"member": member, "approvals": s251.list(), "reminders": s251.reminders()}
    return render(request, "s251.html", context)


@staff_form
def extend_approval(request: Request, member: StaffMember, form: dict[str, str]) -> Response:
    if member.role is not Role.ADMIN:
        return _refused(request, "/s251", "Only an admin can extend an approval.")
    try:
        until = date.fromisoformat(form.get("until", ""))
        done = application(request).s251.extend(
            form.get("reference", ""), until=until, note=form.get("note", ""), by=member.email
        )
    except ValueError:
        return _refused(request, "/s251", "Give the new expiry date as yyyy-mm-dd.")
    except ApprovalError as exc:
        return _refused(request, "/s251", str(exc))
    flash(request, f"Extended to {done.new_expiry:%d/%m/%Y}.")
    return RedirectResponse("/s251", status_code=303)


@staff_form
def add_approval(request: Request, member: StaffMember, form: dict[str, str]) -> Response:
    if member.role is not Role.ADMIN:
        return _refused(request, "/s251", "Only an admin can add an approval.")
    try:
        expires = date.fromisoformat(form.get("expires", ""))
        reference = application(request).s251.add(
            reference=form.get("reference", ""),
            title=form.get("title", ""),
            purposes=[p.strip() for p in form.get("purposes", "").split(";") if p.strip()],
            expires=expires,
            by=member.email,
        )
    except ValueError:
        return _refused(request, "/s251", "Give the expiry date as yyyy-mm-dd.")
    except ApprovalError as exc:
        return _refused(request, "/s251", str(exc))
    flash(request, f"{reference} added, expiring {expires:%d/%m/%Y}.")
    return RedirectResponse("/s251", status_code=303)


@staff_only
def outbox(request: Request, member: StaffMember) -> Response:
    status = application(request).outbox.status(failures=50)
    return render(request, "outbox.html", {"member": member, "status": status})


@staff_form
def outbox_retry(request: Request, member: StaffMember, form: dict[str, str]) -> Response:
    if member.role not in (Role.LEAD, Role.ADMIN):
        return _refused(request, "/outbox", "Only a lead can send failed emails again.")
    count = application(request).outbox.retry()
    flash(request, f"{count} failed email(s) will be sent again.")
    return RedirectResponse("/outbox", status_code=303)


def _refused(request: Request, back: str, why: str) -> Response:
    flash(request, why)
    return RedirectResponse(back, status_code=303)
