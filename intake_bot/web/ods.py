"""The register page's succession reviews: a lead or an admin carries a relationship over to the
successor of its closed organisation, or ends it. Each decision names the account in the audit
trail, as `intake-bot ods decide --by` does."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from intake_bot.domain.ods_views import review_number
from intake_bot.domain.organisations import OdsError
from intake_bot.domain.staff import Role, StaffMember
from intake_bot.web.auth import application, staff_form
from intake_bot.web.templating import flash


@staff_form
def decide_review(request: Request, member: StaffMember, form: dict[str, str]) -> Response:
    if member.role not in (Role.LEAD, Role.ADMIN):
        return _back(request, "Only a lead or an admin can decide a succession review.")
    decision, number = form.get("decision", ""), form.get("review", "")
    to = form.get("to", "").strip()  # a successor's code, when ODS names several or none
    review = review_number(number)  # as the CLI reads it
    if decision not in ("carry", "end") or review is None:
        return _back(request, "Choose a review item and carry it over or end it.")
    offices = None if member.role is Role.ADMIN else member.offices
    try:
        done = application(request).organisations.decide(
            review,
            decision,
            actor=member.email,
            to=to or None,
            note=form.get("note", ""),
            offices=offices,  # another office's item is no item at all
        )
    except OdsError as exc:
        return _back(request, str(exc))
    what = done.decision
    told = (
        "its requester and authoriser are told by email"
        if done.contacts_told
        else "the register has no email address for its requester or authoriser: tell them yourself"
    )
    return _back(request, f"{done.label}: {done.reference} {what}; {told}.")


def _back(request: Request, message: str) -> Response:
    flash(request, message)
    return RedirectResponse("/register", status_code=303)
