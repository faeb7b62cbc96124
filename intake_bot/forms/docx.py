"""Read request forms from a .docx by parsing `word/document.xml` with lxml.

python-docx would do, but costs about ten times as much per form. Values come from, in order
of trust: content controls tagged with a field key (the generated form), then tables of
label | value rows (a form whose controls were lost), then `Label: value` paragraphs.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from datetime import date

from lxml import etree

from intake_bot.domain.fields import (
    FIELDS,
    FIELDS_BY_KEY,
    Field,
    Kind,
    field_for_label,
    normalise_label,
)
from intake_bot.domain.rawform import RawForm, RawValue
from intake_bot.forms._tables import (
    MAX_UNKNOWN_LABEL_CHARS,
    MIN_LABELS,
    FormCollector,
    count_labels,
    distinct_fields,
    forms_from_header_rows,
    match_label,
)

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W_STRICT = "http://purl.oclc.org/ooxml/wordprocessingml/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
CONTENT_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
WORD_MAIN_TYPES = frozenset(
    {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
    }
)
RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
DEFAULT_PART = "word/document.xml"
PACKAGE_RELATIONSHIPS = "_rels/.rels"
MAX_SMALL_PART_BYTES = 1024 * 1024
MAX_PART_BYTES = 32 * 1024 * 1024  # uncompressed; a long form with pictures is far smaller
TICKED, UNTICKED = "☒", "☐"


def _w(name: str) -> str:
    return f"{{{W}}}{name}"


W_BODY, W_P, W_R, W_T, W_TAB, W_BR, W_CR = map(_w, ("body", "p", "r", "t", "tab", "br", "cr"))
W_SYM, W_NBHY, W_TBL, W_TR, W_TC = map(_w, ("sym", "noBreakHyphen", "tbl", "tr", "tc"))
W_SDT, W_SDTPR, W_SDTCONTENT = map(_w, ("sdt", "sdtPr", "sdtContent"))
W_TAG, W_ALIAS, W_VAL, W_DATE = map(_w, ("tag", "alias", "val", "date"))
W_FULLDATE, W_PLACEHOLDER_SHOWN = _w("fullDate"), _w("showingPlcHdr")
W_FFDATA, W_CHECKBOX, W_CHECKED, W_DEFAULT = map(_w, ("ffData", "checkBox", "checked", "default"))
W_DDLIST, W_RESULT, W_LISTENTRY = map(_w, ("ddList", "result", "listEntry"))
W_MOVEFROM, W_CUSTOMXML, W_CHAR, W_FONT = map(_w, ("moveFrom", "customXml", "char", "font"))
W14_CHECKBOX, W14_CHECKED, W14_VAL = (f"{{{W14}}}{n}" for n in ("checkbox", "checked", "val"))
MC_FALLBACK = f"{{{MC}}}Fallback"
_TEXT_TAGS = (W_T, W_P, W_TAB, W_BR, W_CR, W_SYM, W_NBHY)

# Box characters people insert from the Wingdings fonts (Insert > Symbol), by font and code.
_SYMBOL_BOXES = {
    ("wingdings", 0xA8): UNTICKED,
    ("wingdings", 0x6F): UNTICKED,
    ("wingdings", 0x71): UNTICKED,
    ("wingdings", 0xFD): TICKED,
    ("wingdings", 0xFE): TICKED,
    ("wingdings", 0x78): TICKED,
    ("wingdings", 0xFC): "✓",
    ("wingdings 2", 0xA3): UNTICKED,
    ("wingdings 2", 0x2A): UNTICKED,
    ("wingdings 2", 0x51): TICKED,
    ("wingdings 2", 0x52): TICKED,
    ("wingdings 2", 0x53): TICKED,
    ("wingdings 2", 0x54): TICKED,
    ("wingdings 2", 0x50): "✓",
}
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
_FOLDED_KEY = {field.key: normalise_label(field.key) for field in FIELDS}
_FOLDED_LABEL = {field.key: normalise_label(field.label) for field in FIELDS}


class DocxError(ValueError):
    """The file is not a Word document that can be read."""


def placeholder_text(field: Field) -> str:
    """The grey prompt in an empty content control of the blank form (read back as empty)."""
    if field.kind is Kind.CHOICE:
        return f"Choose {field.hint}." if field.hint.startswith("one") else "Choose an item."
    if field.kind is Kind.DATE:
        return "Enter a date, e.g. 31/03/2017."
    if field.kind is Kind.PURPOSES:
        return "Tick all that apply."
    return f"Enter {field.hint}." if field.hint else "Enter text."


def read_docx(data: bytes, source: str) -> list[RawForm]:
    """The forms in a .docx file's bytes; [] when it holds nothing that looks like the form."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return read_docx_archive(archive, source)


def read_docx_archive(
    archive: zipfile.ZipFile, source: str, part: str | None = None
) -> list[RawForm]:
    """The forms in an opened .docx; `part` is the main document when the caller knows it."""
    name = part or main_document_part(archive)
    info = archive.getinfo(name)
    if info.file_size > MAX_PART_BYTES:
        raise DocxError(f"{name} is too large ({info.file_size} bytes uncompressed)")
    return read_document_xml(archive.read(info), source)


def main_document_part(archive: zipfile.ZipFile) -> str:
    """The main document's name in the package: usually word/document.xml, but not always."""
    names = {name.lower(): name for name in archive.namelist()}
    if DEFAULT_PART in names or PACKAGE_RELATIONSHIPS not in names:
        return names.get(DEFAULT_PART, DEFAULT_PART)
    info = archive.getinfo(names[PACKAGE_RELATIONSHIPS])
    if info.file_size > MAX_SMALL_PART_BYTES:
        raise DocxError("package relationships are too large")
    for relationship in parse_xml(archive.read(info)).iter(f"{{{RELATIONSHIPS}}}Relationship"):
        if (relationship.get("Type") or "").endswith("/officeDocument"):
            target = (relationship.get("Target") or "").lstrip("/").lower()
            return names.get(target, DEFAULT_PART)
    return DEFAULT_PART


def parse_xml(xml: bytes) -> etree._Element:
    """Parse package XML without DTDs, entities or network access."""
    if b"<!DOCTYPE" in xml:
        raise DocxError("XML with a document type declaration")  # never in Office files
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    return etree.fromstring(xml, parser)


def read_document_xml(xml: bytes, source: str) -> list[RawForm]:
    """The forms in the XML of a Word main document part."""
    root = parse_xml(xml)
    if root.tag == f"{{{W_STRICT}}}document":  # ISO strict: same tags, another namespace
        root = parse_xml(xml.replace(W_STRICT.encode(), W.encode()))
    body = root.find(W_BODY)
    if body is None:
        raise DocxError("no document body")
    _prepare(body)
    collector = FormCollector(source)
    bulk = _read_body(body, collector, source)
    forms = collector.forms() + bulk
    if not forms:
        _read_paragraphs(body, collector)
        forms = collector.forms()
    if not _has_keyed_control(body) and distinct_fields(forms) < MIN_LABELS:
        return []  # a stray "Name" or "Email" is not a request form
    return forms


# --- preparing the tree --------------------------------------------------------------------


def _prepare(body: etree._Element) -> None:
    """Drop duplicate, moved-away and prompt text; write every tick box out as ☒ or ☐."""
    for gone in list(body.iter(MC_FALLBACK, W_MOVEFROM)):
        parent = gone.getparent()
        if parent is not None:
            parent.remove(gone)
    for shown in list(body.iter(W_PLACEHOLDER_SHOWN)):
        sdt = shown.getparent()
        if _on(shown) and sdt is not None and (sdt := sdt.getparent()) is not None:
            for text in sdt.iter(W_T):
                text.text = ""
    for box in list(body.iter(W14_CHECKBOX)):
        sdt = box.getparent()
        if sdt is not None and (sdt := sdt.getparent()) is not None:
            _show_glyph(sdt, TICKED if _checkbox_ticked(box) else UNTICKED)
    for ffdata in list(body.iter(W_FFDATA)):
        glyph = _legacy_field_text(ffdata)
        fld_char = ffdata.getparent()
        run = fld_char.getparent() if fld_char is not None else None
        if glyph and run is not None:
            etree.SubElement(run, W_T).text = glyph


def _on(element: etree._Element | None, attribute: str = W_VAL) -> bool:
    """An OOXML on/off property: present without a value means on."""
    if element is None:
        return False
    return element.get(attribute, "1").lower() not in ("0", "false", "off")


def _checkbox_ticked(box: etree._Element) -> bool:
    return _on(box.find(W14_CHECKED), W14_VAL)


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
        ticked = _on(checked) if checked is not None else _on(box.find(W_DEFAULT))
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


# --- text --------------------------------------------------------------------------------------


def _text_of(element: etree._Element) -> str:
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


def _value_from_text(field: Field, text: str) -> RawValue:
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


# --- content controls and tables --------------------------------------------------------------


def _read_body(body: etree._Element, collector: FormCollector, source: str) -> list[RawForm]:
    """Feed controls and label | value rows to `collector` in document order; return bulk forms."""
    controls = _field_controls(body)
    bulk_tables: set[etree._Element] = set()
    bulk_forms: list[RawForm] = []
    for element in body.iter(W_SDT, W_TR):
        if element.tag == W_SDT:
            field = controls.get(element)
            if field is not None and not _inside(element, bulk_tables):
                collector.add(field.key, _control_value(field, element, controls))
            continue
        table = element.getparent()
        if table in bulk_tables:
            continue
        if table is not None and table.tag == W_TBL and table.find(W_TR) is element:
            rows = _header_table_rows(table)
            if rows is not None:
                bulk_tables.add(table)
                bulk_forms += forms_from_header_rows(rows, lambda n: f"{source}, table row {n}")
                continue
        if not controls or not any(sdt in controls for sdt in element.iter(W_SDT)):
            _read_row(element, collector)
    return bulk_forms


def _field_controls(body: etree._Element) -> dict[etree._Element, Field]:
    """The content controls that are for a field, by their tag (the key) or else their title.

    Only a key or a full label counts: controls titled "Name" or "Email" are common in other
    templates (CVs, letters), and a loose alias would take them for the form.
    """
    found: dict[etree._Element, Field] = {}
    for name in (W_TAG, W_ALIAS):  # tags first: they win over titles
        for element in body.iter(name):
            properties = element.getparent()
            if properties is None or properties.tag != W_SDTPR:
                continue
            sdt = properties.getparent()
            if sdt is None or sdt in found:
                continue
            field = _field_named(element.get(W_VAL))
            if field is not None:
                found[sdt] = field
    return found


def _field_named(name: str | None) -> Field | None:
    if not name:
        return None
    field = FIELDS_BY_KEY.get(name) or field_for_label(name)
    if field is None or FIELDS_BY_KEY.get(name) is field:
        return field
    folded = normalise_label(name)
    return field if folded in (_FOLDED_KEY[field.key], _FOLDED_LABEL[field.key]) else None


def _inside(element: etree._Element, tables: set[etree._Element]) -> bool:
    return bool(tables) and any(t in tables for t in element.iterancestors(W_TBL))


def _control_value(
    field: Field, sdt: etree._Element, controls: dict[etree._Element, Field]
) -> RawValue:
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
            return _checkbox_ticked(setting)
        if setting.tag == W_PLACEHOLDER_SHOWN and _on(setting):
            return None
        if setting.tag == W_DATE:
            picked = setting
    text = _text_of(content) if content is not None else ""
    if picked is not None and text:
        full_date = _full_date(picked.get(W_FULLDATE))
        if full_date is not None:
            return full_date
    return _value_from_text(field, _with_rest_of_cell(sdt, text, controls))


def _with_rest_of_cell(
    sdt: etree._Element, text: str, controls: dict[etree._Element, Field]
) -> str:
    """The control's text and what follows it in its table cell, when it is the cell's only
    field control: LibreOffice keeps only the first paragraph of a control and leaves the
    others after it, and people type next to a control as well as in it."""
    cell = next(sdt.iterancestors(W_TC), None) if text else None
    if cell is None or sum(1 for other in cell.iter(W_SDT) if other in controls) > 1:
        return text
    whole = _text_of(cell)
    return whole if whole.startswith(text) else text


def _full_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def _has_keyed_control(body: etree._Element) -> bool:
    """Whether a content control is tagged with a field key, as in the generated form."""
    for tag in body.iter(W_TAG):
        parent = tag.getparent()
        if parent is not None and parent.tag == W_SDTPR and tag.get(W_VAL) in FIELDS_BY_KEY:
            return True
    return False


def _cells(row: etree._Element) -> list[etree._Element]:
    """A row's cells, including those wrapped in a cell-level control or custom XML."""
    cells: list[etree._Element] = []
    for child in row:
        if child.tag == W_TC:
            cells.append(child)
        elif child.tag in (W_SDT, W_CUSTOMXML):
            cells.extend(c for c in child.iter(W_TC) if next(c.iterancestors(W_TR)) is row)
    return cells


def _read_row(row: etree._Element, collector: FormCollector) -> None:
    """A row of label | value cells (or label | value | label | value)."""
    texts = [_text_of(cell) for cell in _cells(row)]
    matched = False
    index = 0
    while index < len(texts) - 1:
        field = match_label(texts[index]) if texts[index] else None
        if field is None:
            index += 1
            continue
        collector.add(field.key, _value_from_text(field, texts[index + 1]))
        matched = True
        index += 2
    nested = next(row.iter(W_TBL), None) is not None
    if not matched and len(texts) == 2 and texts[1] and _looks_like_label(texts[0]) and not nested:
        collector.add_unknown(texts[0])


def _looks_like_label(text: str) -> bool:
    return bool(text) and "\n" not in text and len(text) <= MAX_UNKNOWN_LABEL_CHARS


def _header_table_rows(
    table: etree._Element,
) -> list[tuple[int, list[str]]] | None:
    """A table whose first row is a header of field labels, as numbered rows of text; else None."""
    rows = [row for row in table if row.tag == W_TR]
    if len(rows) < 2:
        return None
    header = [_text_of(cell) for cell in _cells(rows[0])]
    labels = count_labels(header)
    if labels < MIN_LABELS or labels * 2 <= sum(1 for text in header if text):
        return None  # label | value | label | value ... is one form, not a header
    return [(n, [_text_of(c) for c in _cells(r)]) for n, r in enumerate(rows, start=1)]


# --- typed paragraphs --------------------------------------------------------------------------


def _read_paragraphs(body: etree._Element, collector: FormCollector) -> None:
    """`Label: value` lines typed as plain paragraphs (no table, no controls)."""
    for label, value in _label_lines(body):
        field = match_label(label)
        if field is not None:
            collector.add(field.key, _value_from_text(field, value))


def _label_lines(body: etree._Element) -> Iterator[tuple[str, str]]:
    for paragraph in body.iter(W_P):
        for line in _text_of(paragraph).splitlines():
            label, colon, value = line.partition(":")
            if not colon:
                label, colon, value = line.partition("\t")
            if colon and label.strip():
                yield label, value.strip()
