"""Request forms as versions other than the current one wrote them, for the form-version tests.

The 2016.1 form called the commissioner the CCG, the processor the CSU and the service contract
a Data Services Agreement; its Word controls were tagged, and its Excel key column filled, with
keys of its own. Written here as that form looked, not derived from config/forms/2016.1.toml,
so that the tests prove the mapping, not restate it.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping

from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from lxml import etree
from openpyxl import Workbook

from intake_bot.domain.fields import FIELDS
from intake_bot.forms.generate import mark_docx_version, mark_xlsx_version

# Today's key: (the 2016.1 label, its key). Fields it named as today does keep today's names.
FORM_2016: dict[str, tuple[str, str]] = {
    "request_type": ("Request type", "request_type"),
    "existing_reference": ("LCR reference (changes and endings only)", "lcr_reference"),
    "effective_date": ("Date of effect", "effective_date"),
    "change_description": ("Details of change", "change_description"),
    "commissioner_name": ("CCG / commissioner name", "ccg_name"),
    "commissioner_ods": ("CCG / commissioner ODS code", "ccg_ods"),
    "commissioner_type": ("Commissioner category", "ccg_type"),
    "processor_name": ("CSU or data processor", "csu_name"),
    "processor_ods": ("CSU or data processor ODS code", "csu_ods"),
    "processor_type": ("Data processor category", "csu_type"),
    "processor_safe_haven": ("Accredited Safe Haven (ASH) status", "ash"),
    "dscro": ("DSCRO region", "region"),
    "datasets": ("Data flows requested", "data_flows"),
    "purposes": ("Purpose of processing", "purposes"),
    "s251_references": ("Section 251 / CAG reference(s)", "cag_references"),
    "contract_reference": ("Data Services Agreement reference", "dsa_reference"),
    "contract_signed": ("Signed Data Services Agreement in place", "dsa_signed"),
    "contract_signed_date": ("Date agreement signed", "dsa_signed_date"),
    "contract_start": ("Agreement start date", "dsa_start"),
    "contract_end": ("Agreement end date", "dsa_end"),
    "commissioner_consent": ("Commissioner agrees to publication", "ccg_consent"),
    "processor_consent": ("Processor agrees to publication", "csu_consent"),
    "requester_name": ("Requester name", "requester_name"),
    "requester_role": ("Requester job title", "requester_role"),
    "requester_email": ("Requester email", "requester_email"),
    "requester_phone": ("Requester telephone", "requester_tel"),
    "authoriser_name": ("SIRO / Caldicott Guardian", "siro_name"),
    "authoriser_email": ("SIRO / Caldicott Guardian email", "siro_email"),
    "declaration": ("Declaration", "declaration"),
}


def _control(key: str, text: str) -> etree._Element:
    """A plain-text content control tagged `key` holding `text`, as the 2016 form had."""
    sdt = OxmlElement("w:sdt")
    properties = OxmlElement("w:sdtPr")
    tag = OxmlElement("w:tag")
    tag.set(qn("w:val"), key)
    properties.append(tag)
    properties.append(OxmlElement("w:text"))
    content = OxmlElement("w:sdtContent")
    run = OxmlElement("w:r")
    t = OxmlElement("w:t")
    t.text = text
    run.append(t)
    content.append(run)
    sdt.append(properties)
    sdt.append(content)
    return sdt


def word_form(
    values: Mapping[str, str],
    *,
    version: str | None = "2016.1",
    names: Mapping[str, tuple[str, str]] = FORM_2016,
    controls: bool = True,
) -> bytes:
    """A filled-in Word form of `version` (None: none declared): a table of its labels, each
    value in a control tagged with its key (`controls`) or typed into the cell."""
    document = Document()
    document.add_heading("Legitimate relationship request", level=1)
    if version is not None:
        mark_docx_version(document, version)
    table = document.add_table(rows=0, cols=2)
    for field in FIELDS:
        label, key = names.get(field.key, (field.label, field.key))
        label_cell, value_cell = table.add_row().cells
        label_cell.text = label
        text = str(values.get(field.key, ""))
        if controls:
            value_cell.paragraphs[0]._p.append(_control(key, text))
        else:
            value_cell.text = text
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def workbook_form(
    values: Mapping[str, str],
    *,
    version: str | None = "2016.1",
    names: Mapping[str, tuple[str, str]] = FORM_2016,
) -> bytes:
    """A filled-in Excel form of `version`: a Request sheet of label | value | key."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Request"
    for field in FIELDS:
        label, key = names.get(field.key, (field.label, field.key))
        sheet.append([label, values.get(field.key, ""), key])
    if version is not None:
        mark_xlsx_version(workbook, version)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def with_declared_version(
    data: bytes, *, control: str | None = None, prop: str | None = None
) -> bytes:
    """A Word form whose hidden version control (`control`) or document property (`prop`)
    says something else: what a sender may put there by hand, or on purpose."""
    from xml.sax.saxutils import escape

    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            part = source.read(info.filename)
            if control is not None and info.filename == "word/document.xml":
                part = re.sub(
                    rb'(<w:tag w:val="dsfc_form_version"/>.*?<w:t[^>]*>)[^<]*(<)',
                    lambda m: m.group(1) + escape(control).encode() + m.group(2),
                    part,
                    count=1,
                    flags=re.S,
                )
            if prop is not None and info.filename == "docProps/custom.xml":
                part = re.sub(
                    rb"<vt:lpwstr>[^<]*</vt:lpwstr>",
                    f"<vt:lpwstr>{escape(prop)}</vt:lpwstr>".encode(),
                    part,
                )
            target.writestr(info, part)
    return out.getvalue()
