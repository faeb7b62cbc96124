"""Re-stamping a Word document's form version in place (forms/generate.py writes the carriers).

A document that already carries a version keeps one `docProps/custom.xml`, one relationship to
it and one version control: a second of any would make an invalid package, or leave the reader
(forms/versions.py) with the old control, which it reads first.
"""

from __future__ import annotations

from typing import Any

from docx.opc.constants import CONTENT_TYPE, RELATIONSHIP_TYPE
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from lxml import etree

from intake_bot.domain.form_versions import DOCX_CONTROL_TAG
from intake_bot.forms.docx_xml import W_P, W_SDT, W_SDTCONTENT, W_SDTPR, W_TAG, W_VAL
from intake_bot.forms.versions import CUSTOM_PROPERTIES

VT = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
# The format id Office gives every user-defined custom property.
USER_DEFINED = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"
FIRST_PID = 2  # pids 0 and 1 are reserved


def set_custom_property(package: Any, name: str, text: str) -> None:
    """Give a python-docx package the custom text property `name`, replacing one of that name
    (and keeping any others) in the one custom-properties part it has or gets."""
    rels = package.rels
    found = [r for r in rels.values() if r.reltype == RELATIONSHIP_TYPE.CUSTOM_PROPERTIES]
    root = _properties_root(found[0].target_part.blob if found else None)
    for rel in found:  # the part is made anew: a Part's bytes are not meant to change
        rels.pop(rel.rId)
    _set_property(root, name, text)
    blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    part = Part(PackURI("/docProps/custom.xml"), CONTENT_TYPE.OFC_CUSTOM_PROPERTIES, blob, package)
    package.relate_to(part, RELATIONSHIP_TYPE.CUSTOM_PROPERTIES)


def _properties_root(blob: bytes | None) -> etree._Element:
    if blob:
        try:
            root = etree.fromstring(blob, etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError:
            root = None  # a damaged part is replaced rather than kept
        if root is not None and root.tag == f"{{{CUSTOM_PROPERTIES}}}Properties":
            return root
    # Parsed, not built: lxml's stubs will not take the default namespace's None key.
    return etree.fromstring(f'<Properties xmlns="{CUSTOM_PROPERTIES}" xmlns:vt="{VT}"/>')


def _set_property(root: etree._Element, name: str, text: str) -> None:
    tag = f"{{{CUSTOM_PROPERTIES}}}property"
    wanted = name.casefold()
    same = [p for p in root.iter(tag) if (p.get("name") or "").strip().casefold() == wanted]
    for extra in same[1:]:
        root.remove(extra)
    if same:
        prop = same[0]
        for child in list(prop):
            prop.remove(child)
    else:
        pids = [int(p.get("pid", "0")) for p in root.iter(tag) if p.get("pid", "").isdigit()]
        prop = etree.SubElement(root, tag, fmtid=USER_DEFINED, pid=str(max(pids, default=1) + 1))
        prop.set("name", name)
    etree.SubElement(prop, f"{{{VT}}}lpwstr").text = text


def restamp_controls(body: etree._Element, run: etree._Element) -> bool:
    """Put `run` in the first hidden version control of a Word body in place of what it held,
    and remove any other version control (with its paragraph when that holds nothing else).
    False when the body has none."""
    controls = [sdt for sdt in body.iter(W_SDT) if _is_version_control(sdt)]
    if not controls:
        return False
    content = controls[0].find(W_SDTCONTENT)
    if content is None:
        content = etree.SubElement(controls[0], W_SDTCONTENT)
    for child in list(content):
        content.remove(child)
    content.append(run)
    for extra in controls[1:]:
        parent = extra.getparent()
        if parent is None:
            continue
        parent.remove(extra)
        holder = parent.getparent()
        if (
            parent.tag == W_P
            and holder is not None
            and not "".join(map(str, parent.itertext())).strip()
        ):
            holder.remove(parent)
    return True


def _is_version_control(sdt: etree._Element) -> bool:
    properties = sdt.find(W_SDTPR)
    tag = properties.find(W_TAG) if properties is not None else None
    return tag is not None and tag.get(W_VAL) == DOCX_CONTROL_TAG
