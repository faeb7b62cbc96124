"""The console's Jinja2 templates (autoescaped), with the helpers every page uses."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from intake_bot.web.security import csrf_token

TEMPLATES = Path(__file__).with_name("templates")
_LONDON = ZoneInfo("Europe/London")  # the settings' time zone is passed to every page

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _day(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def _time(value: datetime | None, zone: ZoneInfo = _LONDON) -> str:
    return value.astimezone(zone).strftime("%d/%m/%Y %H:%M") if value else ""


_env.filters.update(day=_day, time=_time)


def render(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """`name` rendered with the page's context, the CSRF token and one flash message."""
    flash = request.session.pop("flash", None)
    page = _env.get_template(name).render(
        request=request,
        csrf=csrf_token(request),
        flash=flash,
        zone=request.app.state.zone,
        **context,
    )
    return HTMLResponse(page, status_code=status_code)


def flash(request: Request, text: str) -> None:
    """A message for the next page shown (after a redirect)."""
    request.session["flash"] = text
