"""`/api/…`: the same reads as the pages, as JSON, under the same access rules; and `/healthz`."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from intake_bot.domain.staff import StaffMember
from intake_bot.jsonable import json_value
from intake_bot.web.auth import application, staff_only
from intake_bot.web.pages import page_of, visible_request


class _Json(JSONResponse):
    """ISO 8601 dates and times with offsets, records as objects (`jsonable`)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, default=json_value, ensure_ascii=False).encode("utf-8")


@staff_only
def queues(request: Request, member: StaffMember) -> Response:
    """Open requests in the account's offices, a page at a time (`offset`, `limit` ≤ 500),
    optionally of one `queue` or matching `q`."""
    params = request.query_params
    try:
        offset = max(0, int(params.get("offset", "0")))
        limit = min(500, max(1, int(params.get("limit", "100"))))
    except ValueError:
        return _Json({"error": "offset and limit are whole numbers"}, status_code=400)
    queue = params.get("queue") or None
    page = page_of(
        request, member, queue=queue, text=params.get("q", ""), offset=offset, limit=limit
    )
    return _Json({"items": page.items, "total": page.total, "offset": offset, "limit": limit})


@staff_only
def request_detail(request: Request, member: StaffMember) -> Response:
    return _Json(visible_request(request, member, request.path_params["reference"]))


@staff_only
def message_detail(request: Request, member: StaffMember) -> Response:
    from intake_bot.web.messages import visible_message  # messages builds on pages, as we do

    return _Json(visible_message(request, member, request.path_params["reference"]))


@staff_only
def register(request: Request, member: StaffMember) -> Response:
    published_only = request.query_params.get("all") != "1"
    return _Json(
        {"relationships": application(request).register.rows(published_only=published_only)}
    )


@staff_only
def approvals(request: Request, member: StaffMember) -> Response:
    s251 = application(request).s251
    return _Json({"approvals": s251.list(), "reminders": s251.reminders()})


@staff_only
def outbox(request: Request, member: StaffMember) -> Response:
    return _Json(application(request).outbox.status(failures=50))


def healthz(request: Request) -> Response:  # sync: Starlette runs it in a thread
    """For the load balancer and Docker: 200 when the database answers and no mailbox is
    overdue for its poll, else 503 with the problems (no sign-in: it names no request)."""
    app = application(request)
    health = app.operations.health()
    ages: dict[str, float | None] = {}
    if health.ok:  # the database answered: each mailbox's last poll, by age
        now = app.clock()
        for box in app.mailboxes.status():
            last = box.last
            ages[box.name] = round((now - last.polled_at).total_seconds(), 1) if last else None
    body = {"ok": health.ok, "problems": list(health.problems), "last_poll_age_seconds": ages}
    return _Json(body, status_code=200 if health.ok else 503)
