"""`/staff`: admins add and disable console accounts, as `intake-bot staff` does."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from intake_bot.domain.staff import Role, StaffMember
from intake_bot.domain.workflow import WorkflowError
from intake_bot.web.auth import application, not_found, staff_form, staff_only
from intake_bot.web.templating import flash, render


def _admin_only(member: StaffMember) -> None:
    if member.role is not Role.ADMIN:
        raise not_found()


@staff_only
def staff_page(request: Request, member: StaffMember) -> Response:
    _admin_only(member)
    app = application(request)
    offices = [d.name for d in app.settings.dscro]
    accounts = app.staff.list()
    context = {"member": member, "accounts": accounts, "offices": offices, "roles": list(Role)}
    return render(request, "staff.html", context)


@staff_form
def add_staff(request: Request, member: StaffMember, form: dict[str, str]) -> Response:
    _admin_only(member)
    offices = [name for key, name in form.items() if key.startswith("office-")]  # ticked boxes
    try:
        added = application(request).staff.add(
            form.get("email", ""),
            name=form.get("name", ""),
            offices=offices,
            role=form.get("role", "caseworker"),
            password=form.get("password", ""),
            actor=member.email,
        )
    except WorkflowError as exc:
        flash(request, str(exc))
        return RedirectResponse("/staff", status_code=303)
    context = {"member": member, "added": added}
    return render(request, "staff_added.html", context)


@staff_form
def disable_staff(request: Request, member: StaffMember, form: dict[str, str]) -> Response:
    _admin_only(member)
    email = form.get("email", "")
    if email.strip().lower() == member.email:
        flash(request, "You cannot disable your own account.")
        return RedirectResponse("/staff", status_code=303)
    try:
        application(request).staff.disable(email, actor=member.email)
    except WorkflowError as exc:
        flash(request, str(exc))
    else:
        flash(request, f"{email} can no longer sign in.")
    return RedirectResponse("/staff", status_code=303)
