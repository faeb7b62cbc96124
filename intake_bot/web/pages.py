"""The console's pages: queues, one queue, one request (and what staff do to it), the register
and a relationship's history.

Every page shows only the signed-in account's offices' work (admins see every office): a queue,
request or file of another office answers 404, exactly as one that does not exist.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from intake_bot.domain.ods_views import organisation_label
from intake_bot.domain.queue_views import QueuePage, RequestQuery
from intake_bot.domain.register import RegisterError
from intake_bot.domain.staff import Role, StaffMember, may_set_status, sees_queue
from intake_bot.domain.status import LABELS, Status, next_statuses, parse_status
from intake_bot.domain.triage import KINDS, office_slug
from intake_bot.domain.workflow import NotFoundError, WorkflowError
from intake_bot.domain.workflow_views import RequestDetail
from intake_bot.web.auth import application, not_found, staff_form, staff_only
from intake_bot.web.templating import flash, render

SEARCH_RESULTS = 200
# Each status change as staff choose it (LABELS are the requester's words).
ACTIONS = {
    Status.INCOMPLETE: "Ask the requester for more information",
    Status.TRIAGED: "Back to triaged",
    Status.VERIFICATION: "Verify the sender",
    Status.IN_REVIEW: "Put in review",
    Status.APPROVED: "Approve",
    Status.REJECTED: "Reject",
    Status.WITHDRAWN: "Withdraw",
    Status.RECEIVED: "Received",
}


def visible(member: StaffMember, queue: str) -> bool:
    """Whether `member` sees the work of `queue` ("north/new"): admins see every office's."""
    return (member.role is Role.ADMIN and "/" in queue) or sees_queue(member.offices, queue)


def offices_of(member: StaffMember) -> tuple[str, ...] | None:
    """The queue prefixes of `member`'s offices; None for an admin (every office)."""
    if member.role is Role.ADMIN:
        return None
    return tuple(office_slug(o) for o in member.offices)


def page_of(request: Request, member: StaffMember, **query: Any) -> QueuePage:
    """A page of the open requests `member` may see (see `RequestQuery`)."""
    return application(request).queues.browse(
        RequestQuery(statuses=(), offices=offices_of(member), **query)
    )


def visible_request(request: Request, member: StaffMember, reference: str) -> RequestDetail:
    try:
        detail = application(request).requests.show(reference)
    except NotFoundError:
        raise not_found() from None
    if not visible(member, detail.queue):
        raise not_found()
    return detail


@staff_only
def queues(request: Request, member: StaffMember) -> Response:
    """Counts per office × kind, overdue first, and the shared queues."""
    app = application(request)
    counts = [c for c in app.queues.summary() if visible(member, c.queue)]
    counts.sort(key=lambda c: (-c.overdue, c.queue))
    leads = member.role in (Role.LEAD, Role.ADMIN)
    shared = [(q, n - (0 if leads else held)) for q, n, held in app.queues.messages_waiting()]
    # ODS review items are no queue, but wait for staff too: named here, listed on the register
    offices = None if member.role is Role.ADMIN else member.offices
    reviews = app.organisations.waiting(offices)
    context = {"member": member, "rows": counts, "shared": shared, "reviews": reviews}
    return render(request, "queues.html", context)


@staff_only
def queue(request: Request, member: StaffMember) -> Response:
    office, kind = request.path_params["office"], request.path_params["kind"]
    name = f"{office}/{kind}".lower()
    if kind.lower() not in KINDS or not visible(member, name):
        raise not_found()
    wanted = request.query_params.get("q", "").strip()
    order = request.query_params.get("sort", "received")
    start = _offset(request)
    page = page_of(request, member, queue=name, text=wanted, order=order, offset=start)
    context = {"member": member, "queue": name, "page": page, "q": wanted, "sort": order}
    return render(request, "queue.html", context)


@staff_only
def search(request: Request, member: StaffMember) -> Response:
    """Reference, organisation, ODS code or sender, across the account's offices."""
    wanted = request.query_params.get("q", "").strip()
    page = page_of(request, member, text=wanted, limit=SEARCH_RESULTS) if wanted else None
    return render(request, "search.html", {"member": member, "page": page, "q": wanted})


@staff_only
def request_page(request: Request, member: StaffMember) -> Response:
    detail = visible_request(request, member, request.path_params["reference"])
    current = Status(detail.status)
    targets = [s for s in next_statuses(current) if may_set_status(member.role, s)]
    colleagues = [
        s for s in application(request).staff.list() if not s.disabled and _shares(s, detail)
    ]
    context = {
        "member": member,
        "r": detail,
        "targets": [(s.value, ACTIONS[s]) for s in targets],
        "colleagues": colleagues,
    }
    return render(request, "request.html", context)


@staff_form
def change_status(request: Request, member: StaffMember, form: dict[str, str]) -> Response:
    detail = visible_request(request, member, request.path_params["reference"])
    target = parse_status(form.get("status", ""))
    if target is None or not may_set_status(member.role, target):
        flash(
            request,
            "Only a lead can approve or reject a request." if target else "Choose a status.",
        )
        return _back(detail)
    try:
        done = application(request).requests.change_status(
            detail.reference, target, actor=member.email, note=form.get("message", "")
        )
    except WorkflowError as exc:
        flash(request, str(exc))
        return _back(detail)
    told = " The requester has been emailed." if done.email_queued else ""
    flash(request, f"{done.reference} is now {LABELS[Status(done.to_status)].lower()}.{told}")
    return _back(detail)


@staff_form
def add_note(request: Request, member: StaffMember, form: dict[str, str]) -> Response:
    detail = visible_request(request, member, request.path_params["reference"])
    try:
        application(request).requests.add_note(
            detail.reference, form.get("note", ""), actor=member.email
        )
    except WorkflowError as exc:
        flash(request, str(exc))
        return _back(detail)
    flash(request, "Internal note added. It is not emailed to anyone.")
    return _back(detail)


@staff_form
def link_message(request: Request, member: StaffMember, form: dict[str, str]) -> Response:
    """An email that holds no request, attached to this one as its correspondence."""
    from intake_bot.web.messages import visible_message  # messages builds on this module

    detail = visible_request(request, member, request.path_params["reference"])
    try:
        message = visible_message(request, member, form.get("message", "").strip())
        linked = application(request).messages.link(
            message.reference, detail.reference, actor=member.email
        )
    except HTTPException:
        flash(request, "No email you can see has that reference (e.g. MSG-12).")
    except WorkflowError as exc:
        flash(request, str(exc))
    else:
        flash(request, f"{linked.reference} is now correspondence on {linked.request}.")
    return _back(detail)


@staff_form
def assign(request: Request, member: StaffMember, form: dict[str, str]) -> Response:
    detail = visible_request(request, member, request.path_params["reference"])
    name = form.get("assignee", "").strip()
    staff = {s.email: s for s in application(request).staff.list() if _shares(s, detail)}
    if name and name not in staff:
        flash(request, "Choose a colleague who works this request's office.")
        return _back(detail)
    done = application(request).requests.assign(detail.reference, name, actor=member.email)
    flash(request, f"{done.reference} is assigned to {done.after or 'nobody'}.")
    return _back(detail)


@staff_only
def register(request: Request, member: StaffMember) -> Response:
    everything = request.query_params.get("all") == "1"
    app = application(request)
    rows = app.register.rows(published_only=not everything)
    # relationships whose organisation closed (ODS), the account's offices' only
    offices = None if member.role is Role.ADMIN else member.offices
    reviews = app.organisations.reviews(offices=offices)
    context = {
        "member": member,
        "rows": rows,
        "all": everything,
        "reviews": reviews,
        "organisation": organisation_label,  # ODS names may end in their code: show it once
        "sees": lambda office: sees_office(member, office),  # whose history it may open
    }
    return render(request, "register.html", context)


@staff_only
def relationship_history(request: Request, member: StaffMember) -> Response:
    """One relationship's versions and audit trail, for staff of an office it has had (admins:
    every office's; one with no office: every account's). The events of a request of another
    office are left out and counted, as that request's page is not theirs to open."""
    try:
        found = application(request).register.history(request.path_params["reference"][:100])
    except RegisterError:
        raise not_found() from None
    if found.offices and not any(sees_office(member, o) for o in found.offices):
        raise not_found()
    events = [e for e in found.events if not e.request or visible(member, e.queue)]
    context = {
        "member": member,
        "h": found,
        "events": events,
        "others": len(found.events) - len(events),
        # the requests whose page this account may open: the others are named, not linked
        "opens": {e.request for e in events if e.request}
        | {v.source for v in found.versions if v.queue and visible(member, v.queue)},
    }
    return render(request, "register_history.html", context)


def sees_office(member: StaffMember, office: str | None) -> bool:
    """Whether `member` may read a relationship of `office` in detail (its history)."""
    if member.role is Role.ADMIN or not office:
        return True
    return office_slug(office) in {office_slug(o) for o in member.offices}


def _shares(staff: StaffMember, detail: RequestDetail) -> bool:
    return visible(staff, detail.queue)


def _back(detail: RequestDetail) -> Response:
    return RedirectResponse(f"/requests/{detail.reference}", status_code=303)


def _held(summary: str) -> bool:
    return summary.lower().startswith("patient data")


def _offset(request: Request) -> int:
    try:
        return max(0, int(request.query_params.get("offset", "0")))
    except ValueError:
        return 0
