"""Whether a message was sent by a machine rather than a person (RFC 3834 and common practice).

The bot must not answer auto-replies, bounces, reports, mailing lists, no-reply senders or its
own mail. Mail that asks for no automatic reply (Exchange's X-Auto-Response-Suppress) is still
filed, so it is told apart here too.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from email.message import Message

from intake_bot.domain.subject import strip_prefixes
from intake_bot.forms.headers import Headers
from intake_bot.forms.mime import walk

OWN_HEADER = "X-Intake-Bot"  # stamped by the bot on everything it sends

_REPORT_TYPES = (
    "message/delivery-status",
    "message/global-delivery-status",
    "message/disposition-notification",
    "message/feedback-report",
)
_AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
_SUPPRESS = re.compile(r"\b(?:all|oof|autoreply)\b", re.IGNORECASE)
_FALSE = frozenset({"no", "false", "0", "off"})
_ROBOT_LOCALPART = re.compile(
    r"^(?:mailer-daemon|post_?master|bounces?|mail-?daemon)(?:[+\-=].*)?$"
    r"|(?:^|[-_.+])(?:no-?reply|do-?not-?reply|donotreply|noreply)(?:$|[-_.+=])",
    re.IGNORECASE,
)
_ROBOT_SUBJECT = re.compile(
    r"^(?:automatic\s+reply|auto(?:matic)?[\s-]?(?:reply|response|answer)|autoreply"
    r"|out\s+of\s+(?:the\s+)?office|undeliver(?:able|ed)|delivery\s+status\s+notification"
    r"|returned\s+mail|mail\s+delivery\s+(?:failed|failure|system|subsystem)"
    r"|delivery\s+(?:failure|failed|has\s+failed|notification|delayed|report)"
    r"|failure\s+notice|non[\s-]?delivery|message\s+not\s+delivered|warning:\s+could\s+not"
    r"|abwesenheitsnotiz|automatische\s+antwort|r[ée]ponse\s+automatique"
    r"|respuesta\s+autom[áa]tica|risposta\s+automatica)",
    re.IGNORECASE,
)


def automated_reason(msg: Message, own_addresses: Collection[str]) -> str | None:
    """Why `msg` looks sent by a machine rather than a person, or None.

    The bot must not answer auto-replies, bounces, reports, mailing lists, no-reply senders or
    its own mail (RFC 3834 Auto-Submitted, Precedence, DSNs, X-Auto-Response-Suppress, ...).
    """
    headers = Headers(msg, [])
    sender = next((address for address, _ in headers.addresses("from")), "")
    return (
        _own_mail(headers, sender, own_addresses)
        or _auto_headers(headers)
        or _report(msg)
        or _robot_sender(sender)
        or _robot_subject(headers.text("subject") or "")
    )


def wants_no_auto_reply(headers: Headers) -> bool:
    """Whether the sender asked for no automatic reply (X-Auto-Response-Suppress)."""
    return bool(_SUPPRESS.search(headers.raw("x-auto-response-suppress") or ""))


def _own_mail(headers: Headers, sender: str, own_addresses: Collection[str]) -> str | None:
    if headers.has(OWN_HEADER):
        return f"sent by this bot ({OWN_HEADER})"
    if sender and sender in {address.strip().lower() for address in own_addresses}:
        return "sent from the bot's own address"
    return None


def _auto_headers(headers: Headers) -> str | None:
    auto = (headers.raw("auto-submitted") or "").split(";")[0].strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto[:40]}"
    precedence = (headers.raw("precedence") or "").strip().lower()
    if precedence in _AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond"):
        value = headers.raw(name)
        if value is not None and value.strip().lower() not in _FALSE:
            return f"{name} header"
    if headers.has("list-id") or headers.has("list-unsubscribe"):
        return "mailing list (List-Id/List-Unsubscribe)"
    if re.fullmatch(r"<\s*>", headers.raw("return-path") or ""):
        return "empty Return-Path (a bounce)"
    return None


def _report(msg: Message) -> str | None:
    for item in walk(msg, []):
        report = item.content_type == "multipart/report" or item.content_type in _REPORT_TYPES
        if report and not item.forwarded:  # a person may forward a bounce
            return f"delivery or read report ({item.content_type})"
    return None


def _robot_sender(sender: str) -> str | None:
    localpart = sender.rpartition("@")[0] or sender
    if _ROBOT_LOCALPART.search(localpart):
        return f"sent from a robot address ({localpart[:40]})"
    return None


def _robot_subject(subject: str) -> str | None:
    match = _ROBOT_SUBJECT.match(strip_prefixes(subject))
    return f"subject starts {match.group(0)!r}" if match else None
