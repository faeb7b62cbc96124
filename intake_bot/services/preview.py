"""What `intake-bot parse` shows: what would be filed or rejected, and why, without filing it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from intake_bot.domain.rawform import RawForm
from intake_bot.domain.subject import subject_matches
from intake_bot.domain.validation import ValidationContext, validate
from intake_bot.forms.files import read_file
from intake_bot.forms.message import parse_message
from intake_bot.forms.text import read_body
from intake_bot.forms.types import FileReading, MessageParseError, RejectCode

OFFICE_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"%PDF")
FORM_SUFFIXES = (
    ".docx",
    ".docm",
    ".doc",
    ".xlsx",
    ".xlsm",
    ".xls",
    ".csv",
    ".pdf",
    ".odt",
    ".ods",
    ".dat",
)


class Verdict(IntEnum):
    """Also the exit status of `intake-bot parse`."""

    ACCEPTED = 0
    REJECTED = 1
    UNREADABLE = 2


@dataclass
class Preview:
    verdict: Verdict
    kind: str  # "email" or "file"
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.name.lower(),
            "kind": self.kind,
            "summary": self.summary,
            "details": self.details,
            "requests": self.requests,
            "rejections": self.rejections,
        }


def looks_like_office_file(name: str, data: bytes) -> bool:
    return data.startswith(OFFICE_MAGIC) or name.lower().endswith(FORM_SUFFIXES)


def preview(name: str, data: bytes, ctx: ValidationContext, watched_subject: str) -> Preview:
    """Read `data` as a form file or a raw email and judge it as intake would."""
    if looks_like_office_file(name, data):
        return _preview_file(name, data, ctx)
    return _preview_email(data, ctx, watched_subject)


def _judge_forms(forms: list[RawForm], ctx: ValidationContext) -> list[dict[str, Any]]:
    out = []
    for form in forms:
        checked = validate(form, ctx)
        out.append(
            {
                "source": checked.source,
                "request_type": checked.request_type.value if checked.request_type else None,
                "complete": checked.complete,
                "values": checked.values_json(),
                "problems": [p.message for p in checked.problems],
                "flags": [f.message for f in checked.flags],
            }
        )
    return out


def _rejections(readings: list[FileReading]) -> list[dict[str, str]]:
    return [
        {"filename": r.filename, "code": r.rejection.code.value, "reason": r.rejection.reason}
        for r in readings
        if r.rejection
    ]


def _verdict(requests: list[dict[str, Any]], rejections: list[dict[str, str]]) -> Verdict:
    if requests and all(r["complete"] for r in requests) and not rejections:
        return Verdict.ACCEPTED
    return Verdict.REJECTED


def _preview_file(name: str, data: bytes, ctx: ValidationContext) -> Preview:
    reading = read_file(name, "application/octet-stream", data)
    requests = _judge_forms(reading.forms, ctx)
    rejections = _rejections([reading])
    if reading.rejection and reading.rejection.code is RejectCode.CORRUPT:
        return Preview(Verdict.UNREADABLE, "file", reading.rejection.reason, rejections=rejections)
    verdict = _verdict(requests, rejections)
    if reading.ignored:
        summary = f"{name} is not a request form"
    elif rejections:
        summary = rejections[0]["reason"]
    else:
        summary = _count(requests)
    return Preview(verdict, "file", summary, requests=requests, rejections=rejections)


def _count(requests: list[dict[str, Any]]) -> str:
    ok = sum(1 for r in requests if r["complete"])
    return f"{len(requests)} request(s): {ok} complete, {len(requests) - ok} with problems"


def _preview_email(data: bytes, ctx: ValidationContext, watched_subject: str) -> Preview:
    try:
        msg = parse_message(data)
    except MessageParseError as exc:
        return Preview(Verdict.UNREADABLE, "email", f"not a readable email: {exc}")
    details: dict[str, Any] = {
        "subject": msg.subject,
        "from": msg.from_addr,
        "message_id": msg.message_id,
        "subject_matches": subject_matches(msg.subject, watched_subject),
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": len(a.data)}
            for a in msg.attachments
        ],
        "defects": list(msg.defects),
    }
    if msg.automated:
        return Preview(
            Verdict.REJECTED, "email", f"automatic mail, never answered: {msg.automated}", details
        )
    readings = [read_file(a.filename, a.content_type, a.data) for a in msg.attachments]
    forms = [form for r in readings for form in r.forms]
    rejections = _rejections(readings)
    if not forms and not rejections:
        body = read_body(msg.text_body)
        forms = [body] if body else []
    requests = _judge_forms(forms, ctx)
    if not details["subject_matches"]:
        return Preview(
            Verdict.REJECTED,
            "email",
            "the subject is not the one watched; it would be left alone",
            details,
            requests,
            rejections,
        )
    if not requests and not rejections:
        return Preview(
            Verdict.REJECTED,
            "email",
            "no form found: an enquiry, answered with the blank form",
            details,
        )
    verdict = _verdict(requests, rejections)
    summary = _count(requests) if requests else "no readable form: " + rejections[0]["reason"]
    return Preview(verdict, "email", summary, details, requests, rejections)
