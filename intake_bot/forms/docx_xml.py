"""WordprocessingML as the Word reader sees it: tag names, on/off properties and visible text."""

from __future__ import annotations

from lxml import etree

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W_STRICT = "http://purl.oclc.org/ooxml/wordprocessingml/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
TICKED, UNTICKED = "☒", "☐"


def _w(name: str) -> str:
    return f"{{{W}}}{name}"


W_BODY, W_P, W_R, W_T, W_TAB, W_BR, W_CR = map(_w, ("body", "p", "r", "t", "tab", "br", "cr"))
W_SYM, W_NBHY, W_TBL, W_TR, W_TC = map(_w, ("sym", "noBreakHyphen", "tbl", "tr", "tc"))
W_TCPR, W_VMERGE = _w("tcPr"), _w("vMerge")
W_SDT, W_SDTPR, W_SDTCONTENT = map(_w, ("sdt", "sdtPr", "sdtContent"))
W_TAG, W_ALIAS, W_VAL, W_DATE = map(_w, ("tag", "alias", "val", "date"))
W_FULLDATE, W_PLACEHOLDER_SHOWN = _w("fullDate"), _w("showingPlcHdr")
W_FFDATA, W_CHECKBOX, W_CHECKED, W_DEFAULT = map(_w, ("ffData", "checkBox", "checked", "default"))
W_DDLIST, W_RESULT, W_LISTENTRY = map(_w, ("ddList", "result", "listEntry"))
W_MOVEFROM, W_CUSTOMXML, W_CHAR, W_FONT = map(_w, ("moveFrom", "customXml", "char", "font"))
W14_CHECKBOX, W14_CHECKED, W14_VAL = (f"{{{W14}}}{n}" for n in ("checkbox", "checked", "val"))
MC_FALLBACK = f"{{{MC}}}Fallback"
_TEXT_TAGS = (W_T, W_P, W_TAB, W_BR, W_CR, W_SYM, W_NBHY)

# Box characters people insert from the Wingdings fonts (Insert > Symbol): font, glyph, codes.
_SYMBOL_CODES = {
    "wingdings": {UNTICKED: (0xA8, 0x6F, 0x71), TICKED: (0xFD, 0xFE, 0x78), "✓": (0xFC,)},
    "wingdings 2": {UNTICKED: (0xA3, 0x2A), TICKED: (0x51, 0x52, 0x53, 0x54), "✓": (0x50,)},
}
_SYMBOL_BOXES = {
    (font, code): glyph
    for font, glyphs in _SYMBOL_CODES.items()
    for glyph, codes in glyphs.items()
    for code in codes
}


def on(element: etree._Element | None, attribute: str = W_VAL) -> bool:
    """An OOXML on/off property: present without a value means on."""
    if element is None:
        return False
    return element.get(attribute, "1").lower() not in ("0", "false", "off")


def text_of(element: etree._Element) -> str:
    """The visible text of an element: paragraphs and breaks as new lines, tabs kept."""
    parts: list[str] = []
    first_paragraph = True
    for node in element.iter(*_TEXT_TAGS):
        tag = node.tag
        if tag == W_T:
            if node.text:
                parts.append(node.text)
        elif tag == W_P:
            if not first_paragraph:
                parts.append("\n")
            first_paragraph = False
        elif tag == W_TAB:
            parent = node.getparent()  # w:tab is also a tab stop in paragraph properties
            if parent is not None and parent.tag == W_R:
                parts.append("\t")
        elif tag in (W_BR, W_CR):
            parts.append("\n")
        elif tag == W_SYM:
            parts.append(_symbol(node))
        elif tag == W_NBHY:
            parts.append("-")
    return "".join(parts).strip()


def _symbol(sym: etree._Element) -> str:
    font = (sym.get(W_FONT) or "").lower()
    try:
        code = int(sym.get(W_CHAR) or "", 16)
    except ValueError:
        return ""
    return _SYMBOL_BOXES.get((font, code & 0xFF if code >= 0xF000 else code), "")
