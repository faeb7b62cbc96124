"""A Word form made by hand as `Label: value` paragraphs: a label that names no field, between
labels that do, is noted (and so quoted back when an answer is missing), as in a table or an
email's body; the letter around the form, before its first label or after its last, is not."""

from __future__ import annotations

import io

from docx import Document

from intake_bot.domain.fields import FIELDS
from intake_bot.forms.docx import read_docx
from intake_bot.samples import new_request
from intake_bot.services.notify import display_value


def _paragraphs(instead: dict[str, str], *, before: str = "", after: str = "") -> bytes:
    """Today's labels as paragraphs, a field's line replaced where `instead` names it."""
    values = new_request(0)
    doc = Document()
    if before:
        doc.add_paragraph(before)
    for f in FIELDS:
        if f.key in instead:
            doc.add_paragraph(instead[f.key])
        elif values.get(f.key) not in (None, ""):
            doc.add_paragraph(f"{f.label}: {display_value(values[f.key])}")
    if after:
        doc.add_paragraph(after)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def test_a_label_naming_no_field_among_the_form_is_noted() -> None:
    data = _paragraphs({"requester_role": "Position held: IG lead"})
    (form,) = read_docx(data, "hand.docx")
    assert form.unknown_labels == ["Position held"]
    assert "requester_role" not in form.values


def test_the_letter_around_the_form_is_not() -> None:
    data = _paragraphs(
        {},
        before="Note: this is our second request this year",
        after="PS: call me on Tuesday",
    )
    (form,) = read_docx(data, "hand.docx")
    assert form.unknown_labels == []


def test_a_web_address_or_a_long_sentence_is_no_label() -> None:
    data = _paragraphs(
        {
            "requester_role": "See https://example.nhs.uk/roles for the role",
            "requester_phone": "We would be grateful if you told us when it is done: thanks",
        }
    )
    (form,) = read_docx(data, "hand.docx")
    assert form.unknown_labels == []
