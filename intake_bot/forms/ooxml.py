"""An Office Open XML package (.docx, .xlsx): its XML parsed safely, its content types, and
which part is the main document.

Every part is read within a byte limit on the bytes it actually inflates to (inflate.py), and no
XML with a document type declaration is parsed (Office never writes one; entity tricks need one).
"""

from __future__ import annotations

import zipfile

from lxml import etree

from intake_bot.forms.inflate import read_capped
from intake_bot.forms.limits import TooLargeError, megabytes

CONTENT_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
WORD_MAIN_TYPES = frozenset(
    {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
    }
)
DEFAULT_PART = "word/document.xml"
PACKAGE_RELATIONSHIPS = "_rels/.rels"
CONTENT_TYPES_PART = "[Content_Types].xml"
MAX_SMALL_PART_BYTES = 1024 * 1024  # content types, relationships
MAX_PART_BYTES = 32 * 1024 * 1024  # uncompressed; a long form with pictures is far smaller


class PackageError(ValueError):
    """The file is not an Office package that can be read."""


class PartTooLargeError(TooLargeError, PackageError):
    """A part inflates (or says it would) to more than its limit."""


def parse_xml(xml: bytes) -> etree._Element:
    """Parse package XML without DTDs, entities or network access."""
    if b"<!DOCTYPE" in xml:
        raise PackageError("XML with a document type declaration")  # never in Office files
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    return etree.fromstring(xml, parser)


def _read_small_part(archive: zipfile.ZipFile, name: str) -> etree._Element:
    return parse_xml(read_part(archive, name, MAX_SMALL_PART_BYTES))


def content_types(archive: zipfile.ZipFile) -> dict[str, str]:
    """Content types by part name (`/word/document.xml`) and by extension (`*.bin`), lower-cased."""
    types: dict[str, str] = {}
    for element in _read_small_part(archive, CONTENT_TYPES_PART):
        content_type = (element.get("ContentType") or "").lower()
        if element.tag == f"{{{CONTENT_TYPES}}}Override":
            types[(element.get("PartName") or "").lower()] = content_type
        elif element.tag == f"{{{CONTENT_TYPES}}}Default":
            types["*." + (element.get("Extension") or "").lower()] = content_type
    return types


def main_document_part(archive: zipfile.ZipFile) -> str:
    """The main document's name in the package: usually word/document.xml, but not always."""
    names = {name.lower(): name for name in archive.namelist()}
    if DEFAULT_PART in names or PACKAGE_RELATIONSHIPS not in names:
        return names.get(DEFAULT_PART, DEFAULT_PART)
    relationships = _read_small_part(archive, names[PACKAGE_RELATIONSHIPS])
    for relationship in relationships.iter(f"{{{RELATIONSHIPS}}}Relationship"):
        if (relationship.get("Type") or "").endswith("/officeDocument"):
            target = (relationship.get("Target") or "").lstrip("/").lower()
            return names.get(target, DEFAULT_PART)
    return DEFAULT_PART


def read_part(archive: zipfile.ZipFile, name: str, limit: int = MAX_PART_BYTES) -> bytes:
    """A part's bytes, refused when it says or turns out to unpack to more than `limit`."""
    info = archive.getinfo(name)
    if info.file_size > limit:  # an honest size is refused before anything is inflated
        raise PartTooLargeError(f"has a part that is too large ({name}, {info.file_size} bytes)")
    data = read_capped(archive, name, limit)
    if data is None:  # the declared size lied
        raise PartTooLargeError(f"has a part ({name}) that unpacks to more than {megabytes(limit)}")
    return data
