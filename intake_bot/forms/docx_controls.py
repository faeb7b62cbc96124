"""Content controls in a Word form: which are for a field (by tag or title), and their values.

The generated form tags one control per field with the field's key; a form that came through
another template may only title them with the label.
"""

from __future__ import annotations

from datetime import date

from lxml import etree

from intake_bot.domain.fields import FIELDS, FIELDS_BY_KEY, Field, field_for_label, normalise_label
from intake_bot.domain.form_versions import CURRENT_NAMES, FieldNames
from intake_bot.domain.rawform import RawValue
from intake_bot.forms.docx_ticks import checkbox_ticked, value_from_text
from intake_bot.forms.docx_xml import (
    W14_CHECKBOX,
    W_ALIAS,
    W_DATE,
    W_FULLDATE,
    W_PLACEHOLDER_SHOWN,
    W_SDT,
    W_SDTCONTENT,
    W_SDTPR,
    W_TAG,
    W_TC,
    W_VAL,
    on,
    text_of,
)

Controls = dict[etree._Element, Field]

_FOLDED_KEY = {field.key: normalise_label(field.key) for field in FIELDS}
_FOLDED_LABEL = {field.key: normalise_label(field.label) for field in FIELDS}


def field_controls(body: etree._Element, names: FieldNames = CURRENT_NAMES) -> Controls:
    """The content controls that are for a field, by their tag (the key) or else their title.

    Only a key or a full label counts: controls titled "Name" or "Email" are common in other
    templates (CVs, letters), and a loose alias would take them for the form. `names`: the keys
    and labels of the form's version, over today's.
    """
    found: Controls = {}
    for name in (W_TAG, W_ALIAS):  # tags first: they win over titles
        for element in body.iter(name):
            properties = element.getparent()
            if properties is None or properties.tag != W_SDTPR:
                continue
            sdt = properties.getparent()
            if sdt is None or sdt in found:
                continue
            field = _field_named(element.get(W_VAL), names)
            if field is not None:
                found[sdt] = field
    return found


def _field_named(name: str | None, names: FieldNames) -> Field | None:
    if not name:
        return None
    field = names.renamed(name)
    if field is not None:
        return field
    field = FIELDS_BY_KEY.get(name) or field_for_label(name)
    if field is None or not names.keeps_todays(name, field):
        return None  # `own_only`: today's name of a field this version called otherwise
    if FIELDS_BY_KEY.get(name) is field:
        return field
    folded = normalise_label(name)
    return field if folded in (_FOLDED_KEY[field.key], _FOLDED_LABEL[field.key]) else None


def has_keyed_control(body: etree._Element, names: FieldNames = CURRENT_NAMES) -> bool:
    """Whether a content control is tagged with a field key, as in the generated form."""
    for tag in body.iter(W_TAG):
        parent = tag.getparent()
        if parent is not None and parent.tag == W_SDTPR and names.by_key(tag.get(W_VAL) or ""):
            return True
    return False


def control_value(field: Field, sdt: etree._Element, controls: Controls) -> RawValue:
    """A content control's value: a checkbox as bool, a picked date as date, else its text."""
    properties = content = None
    for child in sdt:
        if child.tag == W_SDTPR:
            properties = child
        elif child.tag == W_SDTCONTENT:
            content = child
    picked = None
    for setting in properties if properties is not None else ():
        if setting.tag == W14_CHECKBOX:
            return checkbox_ticked(setting)
        if setting.tag == W_PLACEHOLDER_SHOWN and on(setting):
            return None
        if setting.tag == W_DATE:
            picked = setting
    text = text_of(content) if content is not None else ""
    if picked is not None and text:
        full_date = _full_date(picked.get(W_FULLDATE))
        if full_date is not None:
            return full_date
    return value_from_text(field, _with_rest_of_cell(sdt, text, controls))


def _with_rest_of_cell(sdt: etree._Element, text: str, controls: Controls) -> str:
    """The control's text and what follows it in its table cell, when it is the cell's only
    field control: LibreOffice keeps only the first paragraph of a control and leaves the
    others after it, and people type next to a control as well as in it."""
    cell = next(sdt.iterancestors(W_TC), None) if text else None
    if cell is None or sum(1 for other in cell.iter(W_SDT) if other in controls) > 1:
        return text
    whole = text_of(cell)
    return whole if whole.startswith(text) else text


def _full_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None
