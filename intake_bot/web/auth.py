"""Signing in and out, and who is signed in: a signed session cookie that names the account,
ends after 30 idle minutes (`domain.staff.IDLE_FOR`) and as soon as the account is disabled."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from functools import wraps
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from intake_bot.application import Application
from intake_bot.domain.staff import IDLE_FOR, SecondFactorNeededError, SignInError, StaffMember
from intake_bot.web.security import CSRF_FIELD, check_csrf, csrf_token
from intake_bot.web.templating import render

Handler = Callable[[Request, StaffMember], Response]
FormHandler = Callable[[Request, StaffMember, dict[str, str]], Response]


def application(request: Request) -> Application:
    app: Application = request.app.state.application
    return app


def signed_in(request: Request) -> StaffMember | None:
    """The account this session names, while it is neither idle too long nor disabled."""
    email, seen = request.session.get("email"), request.session.get("seen")
    if not isinstance(email, str) or not isinstance(seen, int | float):
        return None
    now = time.time()
    member = (
        None if now - seen > IDLE_FOR.total_seconds() else application(request).staff.current(email)
    )
    if member is None:
        request.session.clear()
        return None
    request.session["seen"] = int(now)
    return member


def staff_only(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A page for signed-in staff: anyone else goes to the sign-in page (the API answers 401).
    The handler runs in a worker thread, as it waits on the database: never the event loop."""

    @wraps(handler)
    async def guarded(request: Request) -> Response:
        member = await run_in_threadpool(signed_in, request)
        if member is None:
            return sign_in_first(request)
        return await run_in_threadpool(handler, request, member)

    return guarded


def staff_form(handler: FormHandler) -> Callable[[Request], Awaitable[Response]]:
    """A POST from signed-in staff: its form read and its CSRF token checked (403) first."""

    @wraps(handler)
    async def guarded(request: Request) -> Response:
        member = await run_in_threadpool(signed_in, request)
        if member is None:
            return sign_in_first(request)
        form = await form_of(request)
        return await run_in_threadpool(handler, request, member, form)

    return guarded


def sign_in_first(request: Request) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": "sign in first"}, status_code=401)
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


async def form_of(request: Request) -> dict[str, str]:
    """A posted form's text fields, once its CSRF token is checked (403 without it)."""
    form = await request.form()
    check_form(request, form)
    return {k: v for k, v in form.items() if isinstance(v, str)}


def check_form(request: Request, form: FormData) -> None:
    """403 unless `form` carries this session's CSRF token."""
    check_csrf(request, form.get(CSRF_FIELD))


async def login_page(request: Request) -> Response:
    if await run_in_threadpool(signed_in, request) is not None:
        return RedirectResponse("/queues", status_code=303)
    return render(request, "login.html", {"next": _next(request.query_params.get("next"))})


async def login(request: Request) -> Response:
    """The password; then, for an account with a second factor, its code (a second post, the
    password never sent again: the session remembers, for five minutes, who got that far)."""
    form = await form_of(request)
    staff, after = application(request).staff, _next(form.get("next"))
    pending = request.session.get("pending")
    try:  # argon2 takes its time: off the event loop
        if "code" in form and isinstance(pending, dict) and time.time() - pending["at"] < 300:
            member = await run_in_threadpool(staff.second_factor, pending["email"], form["code"])
        else:
            email, password = form.get("email", ""), form.get("password", "")
            member = await run_in_threadpool(staff.sign_in, email, password)
    except SecondFactorNeededError as exc:
        request.session["pending"] = {"email": form.get("email", ""), "at": time.time()}
        context = {"code_needed": True, "message": str(exc), "next": after}
        return render(request, "login.html", context)
    except SignInError as exc:
        request.session.pop("pending", None)
        context = {"error": str(exc), "email": form.get("email", ""), "next": after}
        return render(request, "login.html", context, status_code=400)
    request.session.clear()  # a new session on sign-in: nothing carried over from before
    request.session.update({"email": member.email, "seen": int(time.time())})
    csrf_token(request)
    return RedirectResponse(after, status_code=303)


async def logout(request: Request) -> Response:
    await form_of(request)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


def _next(path: str | None) -> str:
    """Where to go after signing in: a path of this site only (never another site)."""
    if path and path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return "/queues"


def not_found() -> HTTPException:
    """What any request, message or queue outside an account's offices answers."""
    return HTTPException(404, "There is nothing here, or it is not one of your offices'.")
