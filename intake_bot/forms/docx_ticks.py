"""Tick boxes and prompts in a Word form: every kind of box written out as ☒ or ☐, and a value
read from text (a lone box as yes/no, `☒ Yes ☐ No` as the ticked option, a prompt as empty).

Word has three kinds of box: checkbox content controls (w14), legacy form fields, and symbols
typed in from the Wingdings fonts (see docx_xml).
"""

from __future__ import annotations

import re

from lxml import etree

from intake_bot.domain.fields import Field, Kind
from intake_bot.domain.rawform import RawValue
from intake_bot.forms.docx_xml import (
    MC_FALLBACK,
    TICKED,
    UNTICKED,
    W14_CHECKBOX,
    W14_CHECKED,
    W14_VAL,
    W_CHECKBOX,
    W_CHECKED,
    W_DDLIST,
    W_DEFAULT,
    W_FFDATA,
    W_LISTENTRY,
    W_MOVEFROM,
    W_PLACEHOLDER_SHOWN,
    W_R,
    W_RESULT,
    W_SDTCONTENT,
    W_SYM,
    W_T,
    W_VAL,
    on,
)

_TICKED_BOXES = "☒☑⊠"
_BOXES = re.compile("([☒☑⊠☐□])")
_OPTION_PUNCTUATION = " \t\n,;/|"
_WORD_PLACEHOLDERS = frozenset(
    {
        "click or tap here to enter text.",
        "click here to enter text.",
        "choose an item.",
        "click or tap to enter a date.",
        "click here to enter a date.",
    }
)


def has_box(text: str) -> bool:
    """Whether `text` shows a tick box, ticked or not."""
    return _BOXES.search(text) is not None


def placeholder_text(field: Field) -> str:
    """The grey prompt in an empty content control of the blank form (read back as empty)."""
    if field.kind is Kind.CHOICE:
        return f"Choose {field.hint}." if field.hint.startswith("one") else "Choose an item."
    if field.kind is Kind.DATE:
        return "Enter a date, e.g. 31/03/2017."
    if field.kind is Kind.PURPOSES:
        return "Tick all that apply."
    return f"Enter {field.hint}." if field.hint else "Enter text."


def prepare(body: etree._Element) -> None:
    """Drop duplicate, moved-away and prompt text; write every tick box out as ☒ or ☐."""
    for gone in list(body.iter(MC_FALLBACK, W_MOVEFROM)):
        parent = gone.getparent()
        if parent is not None:
            parent.remove(gone)
    for shown in list(body.iter(W_PLACEHOLDER_SHOWN)):
        sdt = shown.getparent()
        if on(shown) and sdt is not None and (sdt := sdt.getparent()) is not None:
            for text in sdt.iter(W_T):
                text.text = ""
    for box in list(body.iter(W14_CHECKBOX)):
        sdt = box.getparent()
        if sdt is not None and (sdt := sdt.getparent()) is not None:
            _show_glyph(sdt, TICKED if checkbox_ticked(box) else UNTICKED)
    for ffdata in list(body.iter(W_FFDATA)):
        glyph = _legacy_field_text(ffdata)
        fld_char = ffdata.getparent()
        run = fld_char.getparent() if fld_char is not None else None
        if glyph and run is not None:
            etree.SubElement(run, W_T).text = glyph


def checkbox_ticked(box: etree._Element) -> bool:
    """Whether a checkbox content control (its w14:checkbox property) is ticked."""
    return on(box.find(W14_CHECKED), W14_VAL)


def _show_glyph(sdt: etree._Element, glyph: str) -> None:
    """Make a checkbox control's visible text match its ticked state (symbol fonts vary)."""
    content = sdt.find(W_SDTCONTENT)
    if content is None:
        return
    for symbol in list(content.iter(W_SYM)):
        parent = symbol.getparent()
        if parent is not None:
            parent.remove(symbol)
    texts = list(content.iter(W_T))
    for text in texts[1:]:
        text.text = ""
    if texts:
        texts[0].text = glyph
        return
    run = next(content.iter(W_R), None)
    if run is not None:
        etree.SubElement(run, W_T).text = glyph


def _legacy_field_text(ffdata: etree._Element) -> str:
    """What a legacy form field shows when Word draws it: a box, or the chosen list entry."""
    box = ffdata.find(W_CHECKBOX)
    if box is not None:
        checked = box.find(W_CHECKED)
        ticked = on(checked) if checked is not None else on(box.find(W_DEFAULT))
        return TICKED if ticked else UNTICKED
    dropdown = ffdata.find(W_DDLIST)
    if dropdown is not None:
        entries = [e.get(W_VAL, "") for e in dropdown.iter(W_LISTENTRY)]
        chosen = dropdown.find(W_RESULT)
        if chosen is None:
            chosen = dropdown.find(W_DEFAULT)
        index = chosen.get(W_VAL, "0") if chosen is not None else "0"
        if index.isdigit() and int(index) < len(entries):
            return entries[int(index)]
    return ""


def value_from_text(field: Field, text: str) -> RawValue:
    """A value as read from text: ticked options picked out, prompts treated as empty."""
    if not text or text.casefold() in _WORD_PLACEHOLDERS or text == placeholder_text(field):
        return None
    if not _BOXES.search(text):
        return text
    if field.kind is Kind.YES_NO and text in (TICKED, UNTICKED, "☑", "□", "⊠"):
        return text in _TICKED_BOXES
    return _ticked_options(text)


def _ticked_options(text: str) -> RawValue:
    """`☒ Yes ☐ No` → `Yes`; `☒ Commissioning ☒ Risk stratification` → both, `; `-separated."""
    pieces = _BOXES.split(text)  # [before, box, after, box, after, ...]
    boxes = pieces[1::2]
    after = [p.strip(_OPTION_PUNCTUATION) for p in pieces[2::2]]
    before = [p.strip(_OPTION_PUNCTUATION) for p in pieces[0:-1:2]]
    options = before if before[0] and not after[-1] else after  # `Yes ☒ No ☐` puts boxes last
    if not any(options):
        return text  # boxes alone: leave them for validation to judge
    ticked = [opt for box, opt in zip(boxes, options, strict=True) if box in _TICKED_BOXES and opt]
    return "; ".join(ticked) or None
