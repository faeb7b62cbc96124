"""A realistic morning in the shared mailbox: 30 messages for the IMAP end-to-end tests."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from intake_bot.domain.fields import FIELDS
from intake_bot.samples import (
    DOCX,
    SUBJECT,
    XLSX,
    body_form,
    docx_form,
    email,
    new_request,
    xlsx_bulk,
    xlsx_request,
)


@dataclass(frozen=True)
class Expected:
    matching: int  # messages the bot must take
    requests: int
    replies: int
    other: int  # messages on other subjects, to be left untouched


def encoded(subject: str) -> str:
    """RFC 2047 encoded words, two of them, as mail clients write long non-ASCII subjects."""
    half = len(subject) // 2
    return " ".join(
        "=?utf-8?b?" + base64.b64encode(part.encode()).decode() + "?="
        for part in (subject[:half], subject[half:])
    )


SUBJECTS = [
    SUBJECT,
    "RE: " + SUBJECT,
    "Fw: " + SUBJECT,
    "FWD: RE: " + SUBJECT.lower(),
    SUBJECT.replace(" - ", " – "),  # en dash (Outlook's AutoCorrect)
    SUBJECT.replace(" - ", " — "),
    "[SECURE] " + SUBJECT,
    "AW: WG: " + SUBJECT,
    "  data   services for commissioners -  LEGITIMATE relationships  ",
    SUBJECT + " - NHS Leeds North CCG",
]
OTHER_SUBJECTS = [
    "Data Services for Commissioners - Newsletter",
    "Legitimate Relationships",
    "Team lunch",
    "RE: Invoice 4471",
    "Data Services for Commissioners",
    "Fw: Training dates",
]


def morning_mail() -> tuple[list[bytes], Expected]:
    messages: list[bytes] = []
    requests = replies = 0
    for i, subject in enumerate(SUBJECTS):  # 10 single Word forms, subject variants
        header_subject = encoded(subject) if i % 3 == 0 else subject
        messages.append(
            email(
                subject=header_subject,
                sender=f"user{i}@nhs.net",
                attachments=[(f"form-{i}.docx", DOCX, docx_form(new_request(i)))],
            )
        )
        requests += 1
        replies += 1
    for i in range(3):  # bulk workbooks, three requests each, one ack per request
        rows = [new_request(10 + 3 * i + j) for j in range(3)]
        messages.append(
            email(sender=f"csu{i}@nhs.net", attachments=[("bulk.xlsx", XLSX, xlsx_bulk(rows))])
        )
        requests += 3
        replies += 3
    for i in range(3):  # two forms in one email
        messages.append(
            email(
                sender=f"pair{i}@nhs.net",
                attachments=[
                    ("a.docx", DOCX, docx_form(new_request(20 + i))),
                    ("b.xlsx", XLSX, xlsx_request(new_request(30 + i))),
                ],
            )
        )
        requests += 2
        replies += 2
    for i in range(3):  # forms with mistakes: filed as incomplete, one reply listing the problems
        bad = new_request(40 + i, contract_signed_date="31/13/2016", declaration="")
        messages.append(
            email(sender=f"bad{i}@nhs.net", attachments=[("bad.docx", DOCX, docx_form(bad))])
        )
        requests += 1
        replies += 1
    messages.append(
        email(
            sender="broken@nhs.net",  # an unreadable file: a reply says why
            attachments=[("form.docx", DOCX, b"PK\x03\x04 not really a zip")],
        )
    )
    replies += 1
    messages.append(
        email(sender="body@nhs.net", body=body_form(new_request(50)))
    )  # form in the body
    requests += 1
    replies += 1
    csv_rows = [new_request(51), new_request(52)]
    csv_text = (
        ",".join(f'"{f.label}"' for f in FIELDS)
        + "\n"
        + "\n".join(",".join(f'"{r.get(f.key, "")}"' for f in FIELDS) for r in csv_rows)
        + "\n"
    )
    messages.append(
        email(sender="csv@nhs.net", attachments=[("requests.csv", "text/csv", csv_text.encode())])
    )
    requests += 2
    replies += 2
    messages.append(email(sender="question@nhs.net", body="How do I apply?\n"))  # no form
    replies += 1
    messages.append(
        email(
            sender="away@nhs.net",
            subject="RE: " + SUBJECT,
            body="I am away.\n",
            headers={"Auto-Submitted": "auto-replied"},
        )
    )  # never answered
    matching = len(messages)
    for i, subject in enumerate(OTHER_SUBJECTS):
        messages.append(
            email(
                subject=subject,
                sender=f"colleague{i}@nhs.net",
                attachments=[("form.docx", DOCX, docx_form(new_request(i)))],
            )
        )
    assert len(messages) == 30
    return messages, Expected(
        matching=matching, requests=requests, replies=replies, other=len(OTHER_SUBJECTS)
    )
