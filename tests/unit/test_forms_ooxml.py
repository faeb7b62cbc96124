"""An Office package's own XML: parsed without DTDs, read within limits, its content types and
main document found."""

from __future__ import annotations

import io
import zipfile

import pytest

from intake_bot.forms.ooxml import (
    MAX_PART_BYTES,
    MAX_SMALL_PART_BYTES,
    PackageError,
    content_types,
    main_document_part,
    parse_xml,
    read_part,
)

TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"


def _package(parts: dict[str, bytes]) -> zipfile.ZipFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return zipfile.ZipFile(buffer)


def test_content_types_are_keyed_by_part_and_by_extension_lower_cased() -> None:
    xml = (
        f'<Types xmlns="{TYPES}"><Default Extension="BIN" ContentType="A/Vba"/>'
        '<Override PartName="/Word/Document.xml" ContentType="Main+XML"/></Types>'
    )

    types = content_types(_package({"[Content_Types].xml": xml.encode()}))

    assert types == {"*.bin": "a/vba", "/word/document.xml": "main+xml"}


def test_an_oversized_content_types_part_is_refused_unread() -> None:
    padding = b" " * (MAX_SMALL_PART_BYTES + 1)
    package = _package({"[Content_Types].xml": f'<Types xmlns="{TYPES}">'.encode() + padding})

    with pytest.raises(PackageError):
        content_types(package)


def test_a_part_that_would_unpack_too_large_is_refused() -> None:
    package = _package({"word/document.xml": b"<x/>"})
    package.getinfo("word/document.xml").file_size = MAX_PART_BYTES + 1  # as a zip bomb declares

    with pytest.raises(PackageError, match="too large"):
        read_part(package, "word/document.xml")


def test_the_main_document_is_word_document_xml_unless_the_package_says_otherwise() -> None:
    rels = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="r1" Target="/word/Main.xml" Type="http://x/officeDocument"/>'
        "</Relationships>"
    )

    assert main_document_part(_package({"word/document.xml": b"<x/>"})) == "word/document.xml"
    assert main_document_part(_package({"_rels/.rels": rels.encode(), "word/Main.xml": b""})) == (
        "word/Main.xml"
    )


def test_xml_with_a_document_type_declaration_is_refused() -> None:
    with pytest.raises(PackageError):
        parse_xml(b'<!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>')
