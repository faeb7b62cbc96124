"""Read request forms from a .docx by parsing `word/document.xml` with lxml.

python-docx would do, but costs about ten times as much per form. Values come from, in order
of trust: content controls tagged with a field key (the generated form, docx_controls), then
tables of label | value rows (a form whose controls were lost, docx_tables), then
`Label: value` paragraphs. Tick boxes of every kind are read by docx_ticks.

The main part is read within the budget's byte limit (lxml parses it in one go, so bytes bound
its time); the walks over rows, controls and paragraphs then check the time budget.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence

from lxml import etree

from intake_bot.domain.form_versions import CURRENT_ONLY, FieldNames, FormVersions
from intake_bot.domain.rawform import RawForm
from intake_bot.forms._tables import (
    MIN_LABELS,
    FormCollector,
    distinct_fields,
    forms_from_header_rows,
)
from intake_bot.forms.docx_controls import (
    Controls,
    control_value,
    field_controls,
    has_keyed_control,
)
from intake_bot.forms.docx_tables import header_table_rows, read_paragraphs, read_row
from intake_bot.forms.docx_ticks import prepare
from intake_bot.forms.docx_xml import W_BODY, W_P, W_SDT, W_STRICT, W_TBL, W_TR, W
from intake_bot.forms.inflate import BoundedZip
from intake_bot.forms.limits import Budget
from intake_bot.forms.ooxml import PackageError, main_document_part, parse_xml, read_part
from intake_bot.forms.versions import (
    Carried,
    body_carriers,
    declaration,
    property_carriers,
    read_as_declared,
)

# The name the Word reader's callers catch; package-level problems raise it too.
DocxError = PackageError


def read_docx(
    data: bytes,
    source: str,
    budget: Budget | None = None,
    versions: FormVersions = CURRENT_ONLY,
) -> list[RawForm]:
    """The forms in a .docx file's bytes; [] when it holds nothing that looks like the form."""
    budget = budget or Budget.start()
    with BoundedZip(data, budget) as archive:
        return read_docx_archive(archive, source, budget=budget, versions=versions)


def read_docx_archive(
    archive: zipfile.ZipFile,
    source: str,
    part: str | None = None,
    budget: Budget | None = None,
    versions: FormVersions = CURRENT_ONLY,
) -> list[RawForm]:
    """The forms in an opened .docx; `part` is the main document when the caller knows it.

    Read by the names of the form version it declares (`versions`); UnmappedVersionError when
    it declares one that none of them covers."""
    budget = budget or Budget.start()
    name = part or main_document_part(archive)
    xml = read_part(archive, name, budget.limits.part_bytes)
    return read_document_xml(xml, source, budget, versions, property_carriers(archive))


def read_document_xml(
    xml: bytes,
    source: str,
    budget: Budget | None = None,
    versions: FormVersions = CURRENT_ONLY,
    declared: Sequence[Carried] = (),
) -> list[RawForm]:
    """The forms in the XML of a Word main document part; `declared`: what its package's
    version properties hold, if it has any (a version control in the body wins over them)."""
    budget = budget or Budget.start()
    for carrier in declared:  # the sender's text, as the body's: the patient-data check reads it
        budget.seen.add(carrier.seen)
    root = parse_xml(xml)
    if root.tag == f"{{{W_STRICT}}}document":  # ISO strict: same tags, another namespace
        root = parse_xml(xml.replace(W_STRICT.encode(), W.encode()))
    body = root.find(W_BODY)
    if body is None:
        raise DocxError("no document body")
    for paragraph in body.iter(W_P):  # all of it, deleted text too: the patient-data check
        budget.seen.add("".join(map(str, paragraph.itertext())))
    prepare(body)
    budget.check_time()
    in_body = body_carriers(body)
    for carrier in in_body:  # a control outside any paragraph is not in the text seen above
        budget.seen.add(carrier.seen)
    said = declaration([*in_body, *declared])

    def read(names: FieldNames) -> list[RawForm]:
        return _forms_in(body, source, budget, names)

    return read_as_declared(
        said,
        versions,
        read,
        too_few=lambda forms: not forms,  # _forms_in finds no form in fewer fields
    )


def _forms_in(
    body: etree._Element, source: str, budget: Budget, names: FieldNames
) -> list[RawForm]:
    """The forms a Word body holds read by `names`; [] when it holds none."""
    collector = FormCollector(source)
    bulk = _read_body(body, collector, source, budget, names)
    forms = collector.forms() + bulk
    if not forms:
        read_paragraphs(body, collector, budget, names)
        forms = collector.forms()
    if not has_keyed_control(body, names) and distinct_fields(forms) < MIN_LABELS:
        return []  # a stray "Name" or "Email" is not a request form
    return forms


def _read_body(
    body: etree._Element,
    collector: FormCollector,
    source: str,
    budget: Budget,
    names: FieldNames,
) -> list[RawForm]:
    """Feed controls and label | value rows to `collector` in document order; return bulk forms."""
    controls = field_controls(body, names)
    budget.check_time()
    bulk_tables: set[etree._Element] = set()
    bulk_forms: list[RawForm] = []
    for element in body.iter(W_SDT, W_TR):
        budget.tick()
        if element.tag == W_SDT:
            field = controls.get(element)
            if field is not None and not _inside(element, bulk_tables):
                collector.add(field.key, control_value(field, element, controls))
            continue
        table = element.getparent()
        if table in bulk_tables:
            continue
        collector.group = table
        if table is not None and table.tag == W_TBL and table.find(W_TR) is element:
            rows = header_table_rows(table, budget, names)
            if rows is not None:
                bulk_tables.add(table)
                bulk_forms += forms_from_header_rows(
                    rows, lambda n: f"{source}, table row {n}", names
                )
                continue
        if not _has_field_control(element, controls):
            read_row(element, collector, names)
    return bulk_forms


def _has_field_control(row: etree._Element, controls: Controls) -> bool:
    return bool(controls) and any(sdt in controls for sdt in row.iter(W_SDT))


def _inside(element: etree._Element, tables: set[etree._Element]) -> bool:
    return bool(tables) and any(t in tables for t in element.iterancestors(W_TBL))
