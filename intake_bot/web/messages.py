"""Messages that hold no request (enquiries, quarantine) and every file staff download.

A message filed as (or linked to) a request is shown to whoever sees that request; one waiting
in a shared queue to any signed-in account, except a patient-data hold: leads and admins only.
Files are always downloads (`Content-Disposition: attachment`, never shown inline), whatever
type their sender claimed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from intake_bot.domain.queue_views import QueueItem
from intake_bot.domain.staff import Role, StaffMember
from intake_bot.domain.triage import SHARED_QUEUES
from intake_bot.domain.workflow import NotFoundError, WorkflowError
from intake_bot.domain.workflow_views import AttachmentFile, MessageDetail
from intake_bot.web.auth import application, not_found, staff_form, staff_only
from intake_bot.web.pages import visible, visible_request
from intake_bot.web.templating import flash, render

PATIENT_DATA = "patient data"  # how the note of a patient-data hold begins


def _holds_patient_data(note: str) -> bool:
    return note.lower().startswith(PATIENT_DATA)


def _may_see_holds(member: StaffMember) -> bool:
    return member.role in (Role.LEAD, Role.ADMIN)


def visible_message(request: Request, member: StaffMember, reference: str) -> MessageDetail:
    try:
        detail = application(request).messages.show(reference)
    except NotFoundError:
        raise not_found() from None
    if detail.request:
        visible_request(request, member, detail.request)  # 404 unless its request is seen
    elif detail.queue and "/" in detail.queue and not visible(member, detail.queue):
        raise not_found()
    if _holds_patient_data(detail.note) and not _may_see_holds(member):
        raise not_found()
    return detail


@staff_only
def shared_queue(request: Request, member: StaffMember) -> Response:
    name = request.path_params["name"].lower()
    if name not in SHARED_QUEUES:
        raise not_found()
    items: list[QueueItem] = [
        i
        for i in application(request).queues.items(name).items
        if _may_see_holds(member) or not _holds_patient_data(i.summary)
    ]
    return render(request, "messages.html", {"member": member, "queue": name, "items": items})


@staff_only
def message_page(request: Request, member: StaffMember) -> Response:
    detail = visible_message(request, member, request.path_params["reference"])
    context = {
        "member": member,
        "m": detail,
        "quarantined": detail.queue == "quarantine",
        "holds_patient_data": _holds_patient_data(detail.note),
    }
    return render(request, "message.html", context)


@staff_form
def act_on_message(request: Request, member: StaffMember, form: dict[str, str]) -> Response:
    """answer, link, close or release: one form each on the message's page."""
    detail = visible_message(request, member, request.path_params["reference"])
    messages, action = application(request).messages, request.path_params["action"]
    try:
        if action == "answer":
            done = messages.answer(detail.reference, actor=member.email, text=form.get("text"))
            flash(request, f"Answer queued to {done.to}.")
        elif action == "link":
            target = form.get("request", "")
            visible_request(request, member, target)  # only to a request one may see
            linked = messages.link(detail.reference, target, actor=member.email)
            flash(request, f"{linked.reference} is now correspondence on {linked.request}.")
        elif action == "close":
            messages.close(detail.reference, actor=member.email, note=form.get("note", ""))
            flash(request, f"{detail.reference} is closed.")
        elif action == "release":
            cleared = form.get("not_patient_data") == "yes" and _may_see_holds(member)
            released = messages.release(
                detail.reference, actor=member.email, not_patient_data=cleared
            )
            flash(request, f"{released.reference} was processed again: {released.outcome}.")
        else:
            raise not_found()
    except WorkflowError as exc:
        flash(request, str(exc))
    return RedirectResponse(f"/messages/{detail.reference}", status_code=303)


@staff_only
def message_file(request: Request, member: StaffMember) -> Response:
    detail = visible_message(request, member, request.path_params["reference"])
    return _file(lambda: application(request).messages, detail.reference, request)


@staff_only
def request_file(request: Request, member: StaffMember) -> Response:
    detail = visible_request(request, member, request.path_params["reference"])
    return _file(lambda: application(request).requests, detail.reference, request)


def _file(owner: Callable[[], HasFiles], reference: str, request: Request) -> Response:
    """Attachment `id` of `reference` as a download; 404 when it is not one of its files."""
    try:
        return download(owner().attachment(reference, request.path_params["id"]))
    except NotFoundError:
        raise not_found() from None


class HasFiles(Protocol):
    def attachment(self, reference: str, attachment_id: int) -> AttachmentFile: ...


def download(found: AttachmentFile) -> Response:
    """The file as a download: never rendered, never sniffed into something runnable."""
    name = found.filename.replace("\\", "_").replace("/", "_") or "attachment"
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return Response(
        found.data,
        media_type="application/octet-stream",
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )
