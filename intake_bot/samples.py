"""Realistic sample requests and emails, for `intake-bot demo`, the tests and the benchmarks.

The forms are typed by hand (no content controls) and declare no version unless given one
(`version=`): the demo's carry the current version, as `intake-bot form` writes it.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from intake_bot.domain.fields import FIELDS, FIELDS_BY_KEY
from intake_bot.domain.form_versions import CURRENT_VERSION

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SUBJECT = "Data Services for Commissioners - Legitimate Relationships"

_CCGS = [
    ("NHS Leeds North CCG", "02V", "North"),
    ("NHS Darlington CCG", "00C", "North"),
    ("NHS Dudley CCG", "05C", "Midlands and East"),
    ("NHS Islington CCG", "08H", "London"),
    ("NHS Dorset CCG", "11J", "South"),
]
_CSUS = [
    ("North of England Commissioning Support", "0DE"),
    ("Midlands and Lancashire Commissioning Support Unit", "0DF"),
    ("North East London Commissioning Support Unit", "0DH"),
    ("South, Central and West Commissioning Support Unit", "0DJ"),
]
_PEOPLE = [
    "Aisha Khan",
    "Tom Bradley",
    "Priya Patel",
    "Gareth Evans",
    "Joanne Smith",
    "Mohammed Ali",
]


def new_request(i: int = 0, **overrides: str) -> dict[str, str]:
    """The values of a complete, valid "new relationship" form, as a person would type them."""
    ccg, ods, office = _CCGS[i % len(_CCGS)]
    csu, csu_ods = _CSUS[i % len(_CSUS)]
    person = _PEOPLE[i % len(_PEOPLE)]
    user = person.lower().replace(" ", ".")
    values = {
        "request_type": "New relationship",
        "effective_date": "01/04/2016",
        "commissioner_name": ccg,
        "commissioner_ods": ods,
        "commissioner_type": "CCG",
        "processor_name": csu,
        "processor_ods": csu_ods,
        "processor_type": "CSU",
        "processor_safe_haven": "Yes",
        "dscro": office,
        "datasets": "SUS, SUS PbR; Local Provider Flows",
        "purposes": "Commissioning",
        "s251_references": "",
        "contract_reference": f"CSU-SLA-{2016 + i % 3}-{100 + i}",
        "contract_signed": "Yes",
        "contract_signed_date": "15/03/2016",
        "contract_start": "01/04/2016",
        "contract_end": "31 March 2030",
        "commissioner_consent": "Yes",
        "processor_consent": "Yes",
        "requester_name": person,
        "requester_role": "Information Governance Manager",
        "requester_email": f"{user}@nhs.net",
        "requester_phone": "0113 825 0000",
        "authoriser_name": "Dr Helen Morris",
        "authoriser_email": "helen.morris@nhs.net",
        "declaration": "Yes",
    }
    values.update(overrides)
    return values


def docx_form(
    values: Mapping[str, str],
    *,
    title: str = "Legitimate relationship request",
    version: str | None = None,
) -> bytes:
    """A Word form typed by hand: a two-column table of labels and values (no content controls);
    with `version`, the carriers of the blank form declaring it."""
    from docx import Document  # python-docx is a dependency of the readers' tests and the demo

    from intake_bot.forms.generate import mark_docx_version

    doc = Document()
    doc.add_heading(title, level=1)
    if version is not None:
        mark_docx_version(doc, version)  # where the blank has it: after the heading
    doc.add_paragraph("Data Services for Commissioners. Please complete every field marked *.")
    table = doc.add_table(rows=0, cols=2)
    for f in FIELDS:
        row = table.add_row().cells
        row[0].text = f.label + ("*" if f.required.value == "always" else "") + ":"
        row[1].text = str(values.get(f.key, ""))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def xlsx_request(values: Mapping[str, object], *, version: str | None = None) -> bytes:
    """A workbook typed by hand: a `Request` sheet of labels and values."""
    return _workbook("Request", [[f.label, values.get(f.key, "")] for f in FIELDS], version)


def xlsx_bulk(rows: Sequence[Mapping[str, object]], *, version: str | None = None) -> bytes:
    """A CSU's workbook: one request per row of the `Bulk` sheet, under a header row of labels."""
    lines = [[values.get(f.key, "") for f in FIELDS] for values in rows]
    return _workbook("Bulk", [[f.label for f in FIELDS], *lines], version)


def _workbook(title: str, lines: Sequence[Sequence[object]], version: str | None) -> bytes:
    from openpyxl import Workbook

    from intake_bot.forms.generate import mark_xlsx_version

    wb = Workbook()
    ws = wb.active
    ws.title = title
    for line in lines:
        ws.append(list(line))
    if version is not None:
        mark_xlsx_version(wb, version)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def email(
    *,
    subject: str = SUBJECT,
    sender: str = "aisha.khan@nhs.net",
    sender_name: str = "Aisha Khan",
    to: str = "dsfc.enquiries@intake-bot.invalid",
    body: str = "Hello,\n\nPlease find our request attached.\n\nKind regards\n",
    attachments: Sequence[tuple[str, str, bytes]] = (),
    headers: Mapping[str, str] | None = None,
    when: datetime | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{sender_name} <{sender}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when or datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "example.invalid")
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    for filename, ctype, data in attachments:
        maintype, _, subtype = ctype.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def body_form(values: Mapping[str, str]) -> str:
    return "\n".join(f"{FIELDS_BY_KEY[k].label}: {v}" for k, v in values.items()) + "\n"


def demo_messages() -> list[tuple[str, bytes]]:
    """The demo set: (what it is, raw email)."""
    good = new_request(0)
    bulk = [new_request(i) for i in (1, 2, 3)]
    bad = new_request(
        4,
        commissioner_ods="11J!",
        contract_signed_date="31/13/2016",
        requester_email="joanne.smith@@nhs.net",
        declaration="",
        purposes="Commissioning; Risk stratification",
    )
    return [
        (
            "a new relationship on a Word form",
            email(
                attachments=[
                    ("request-leeds-north.docx", DOCX, docx_form(good, version=CURRENT_VERSION))
                ]
            ),
        ),
        (
            "three requests on a CSU's bulk spreadsheet",
            email(
                subject="RE: " + SUBJECT.replace(" - ", " – "),
                sender="tom.bradley@nhs.net",
                sender_name="Tom Bradley",
                attachments=[
                    ("bulk-requests.xlsx", XLSX, xlsx_bulk(bulk, version=CURRENT_VERSION))
                ],
            ),
        ),
        (
            "a form with mistakes",
            email(
                subject="[SECURE] " + SUBJECT,
                sender="joanne.smith@nhs.net",
                sender_name="Joanne Smith",
                attachments=[("dorset.docx", DOCX, docx_form(bad, version=CURRENT_VERSION))],
            ),
        ),
        (
            "a question without a form",
            email(
                sender="gareth.evans@nhs.net",
                sender_name="Gareth Evans",
                body="Hello,\n\nHow do we add a new CSU to our relationship?\n\nThanks, Gareth\n",
            ),
        ),
        (
            "an out-of-office reply",
            email(
                subject="Automatic reply: " + SUBJECT,
                sender="priya.patel@nhs.net",
                sender_name="Priya Patel",
                body="I am out of the office until Monday.\n",
                headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
            ),
        ),
        (
            "an email on another subject",
            email(
                subject="Team lunch on Friday",
                sender="mohammed.ali@nhs.net",
                sender_name="Mohammed Ali",
                body="Pizza?\n",
            ),
        ),
    ]
