"""The form version a .docx or .xlsx declares, read from the package the reader has open.

Word: a hidden content control tagged `dsfc_form_version` in the body (it travels with the
form's content when someone copies it into another document), else the custom document
property "DSfC form version" (docProps/custom.xml). Excel: the workbook's defined name
`DSfC_form_version`, else a sheet's (version_names.py). What each carrier holds is the
sender's text: cut short here, judged by domain/form_versions.py (only numbers and dots are a
version), never used as a name of anything. A carrier holding anything else (a link, a list, a
formula) declares nothing, and staff are told so without its text.

A form typed as text (a .csv, `Label: value` lines in an email body) may give its version on a
row of its own, "Form version: 2016.1" (`typed_carrier`); it is read as a declared version is
(`read_as_declared`), the one path every reader hands its carriers to.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lxml import etree

from intake_bot.domain.fields import normalise_label
from intake_bot.domain.form_versions import (
    DOCX_CONTROL_TAG,
    DOCX_PROPERTY,
    MAX_VERSION_CHARS,
    FormVersions,
    Resolution,
    shown_version,
    valid_version,
    version_key,
)
from intake_bot.domain.rawform import RawForm, Versioning
from intake_bot.forms._tables import MIN_LABELS, read_unversioned
from intake_bot.forms.docx_xml import W_SDTCONTENT, W_SDTPR, W_TAG, W_VAL, text_of
from intake_bot.forms.ooxml import PackageError, parse_xml, read_part
from intake_bot.forms.version_choice import Read, read_declared, stamp

CUSTOM_PROPERTIES_PART = "docprops/custom.xml"  # lower-cased, as looked up
CUSTOM_PROPERTIES = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
DOC_PROPS_TYPES = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
_TEXT_TYPES = frozenset(f"{{{DOC_PROPS_TYPES}}}{kind}" for kind in ("lpwstr", "lpstr", "bstr"))
MAX_PROPERTIES_BYTES = 256 * 1024
SHOWN_CARRIERS = 5  # carriers that disagree, named to staff one by one; the rest counted
KEEP = MAX_VERSION_CHARS + 1  # enough to tell a well-formed version from one that is too long
UNRESOLVED = "a value the bot cannot read as a version"
# The labels of a version typed on a row of its own (case, spacing and a colon do not matter).
_TYPED_LABELS = frozenset(map(normalise_label, ("Form version", "Version", DOCX_PROPERTY)))


class UnmappedVersionError(Exception):
    """A form declares a version that no mapping covers, or that its mapping could not read."""

    def __init__(self, resolution: Resolution, declared: str) -> None:
        super().__init__("form version not readable")
        self.resolution = resolution
        self.shown = shown_version(declared)


@dataclass(frozen=True)
class Carried:
    """What one carrier of the version holds: text (cut short), or `unresolved` when it holds
    something the bot does not read as text (a list, a number, a formula, a range). `seen`: all
    of it, for the patient-data check."""

    where: str  # "hidden field", "document property", "defined name"...
    text: str = ""
    unresolved: bool = False
    seen: str = ""

    @property
    def holds(self) -> bool:
        return bool(self.text) or self.unresolved

    @property
    def version(self) -> str | None:
        return None if self.unresolved else valid_version(self.text)

    @property
    def shown(self) -> str:
        """As staff are told it: the version, or a description (never the sender's text)."""
        return UNRESOLVED if self.unresolved else shown_version(self.text)

    def key(self) -> object:
        return version_key(self.version) if self.version else (self.text, self.unresolved)


@dataclass(frozen=True)
class Declaration:
    """What a file's carriers declare together: the version used (the first that names one,
    from its `used` carrier), and for staff, carriers that disagree (`disagree`: each as staff
    are told it) or, when none names a version, those that held something else (`unread`)."""

    version: str | None
    used: str = ""
    disagree: str = ""
    unread: tuple[str, ...] = ()

    def mark(self, forms: list[RawForm]) -> list[RawForm]:
        for form in forms:
            form.version_conflict = self._conflict(form) if self.disagree else None
            form.version_unread = list(self.unread)
        return forms

    def _conflict(self, form: RawForm) -> str:
        read = f"it was read as {self.version}, as its {self.used} says"
        if form.labels_version:  # the other note says why
            read += f", by version {form.labels_version}'s labels"
        return (
            f"the form declares more than one version: {self.disagree}; {read}: check which "
            "version of the form the sender filled in"
        )


def declaration(carried: list[Carried]) -> Declaration:
    """The carriers of one file, in the order they count (Word: its hidden fields, then its
    property; Excel: the workbook's names, then its sheets'): the first that names a version is
    used; one that holds anything else declares nothing (read by labels, flagged for staff)."""
    held = [c for c in carried if c.holds]
    used = next((c for c in held if c.version), None)
    if used is None:
        unread = tuple(dict.fromkeys(f"{c.where}: {c.shown}" for c in held))
        return Declaration(None, unread=unread)
    if len({c.key() for c in held}) < 2:
        return Declaration(used.version, used.where)
    said = list(dict.fromkeys(f"{c.shown} ({c.where})" for c in held))
    more = f" and {len(said) - SHOWN_CARRIERS} more" if len(said) > SHOWN_CARRIERS else ""
    return Declaration(used.version, used.where, " and ".join(said[:SHOWN_CARRIERS]) + more)


def read_as_declared(
    said: Declaration,
    versions: FormVersions,
    read: Read,
    *,
    too_few: Callable[[list[RawForm]], bool],
    unversioned: Callable[[], list[RawForm]] | None = None,
    min_fields: int = MIN_LABELS,
) -> list[RawForm]:
    """A file's forms read as its carriers declare (`said`): by the declared version's names,
    or another version's when those read clearly more (`read_declared`); with no version
    declared, as `unversioned` reads them (by default, as `read_unversioned` chooses). Each
    form is marked with what its carriers disagree on or held. UnmappedVersionError when no
    mapping covers the version, or when an older version's mapping reads too little to be
    that version's form (`too_few`)."""
    resolution = versions.resolve(said.version)
    if resolution.names is None:
        raise UnmappedVersionError(resolution, said.version or "")
    if resolution.versioning is Versioning.MISSING:
        forms = unversioned() if unversioned else read_unversioned(read, versions)
        return said.mark(stamp(forms, resolution))
    forms = read_declared(read, versions, resolution, min_fields)
    # An older version whose mapping finds fewer fields than a form has is a version read
    # wrongly, not a request with most of its answers missing.
    if resolution.versioning is Versioning.OLDER and too_few(forms):
        raise UnmappedVersionError(resolution, said.version or "")
    return said.mark(forms)


def typed_carrier(label: str, value: str, where: str) -> Carried | None:
    """A row typed as "Form version: 2016.1" (also "Version", "DSfC form version") as a
    carrier of the version; None when `label` is not one of those."""
    if normalise_label(label) not in _TYPED_LABELS:
        return None
    text = value.strip()
    return Carried(where, text[:KEEP], seen=text)


def body_carriers(body: etree._Element) -> list[Carried]:
    """Every version control in a Word body, in document order (emptied ones left out): more
    than one is a form pasted into another, or a stamp gone wrong."""
    return [Carried("hidden field", text[:KEEP], seen=text) for text in _controls(body) if text]


def _controls(body: etree._Element) -> Iterator[str]:
    for tag in body.iter(W_TAG):
        properties = tag.getparent()
        if tag.get(W_VAL) != DOCX_CONTROL_TAG or properties is None or properties.tag != W_SDTPR:
            continue
        content = properties.getnext()
        while content is not None and content.tag != W_SDTCONTENT:
            content = content.getnext()
        yield text_of(content).strip() if content is not None else ""


def property_carriers(archive: zipfile.ZipFile) -> list[Carried]:
    """The "DSfC form version" custom document properties of a Word package: one as Word
    writes it, or several a tool added beside it (which, if they disagree, staff are told).
    Only a text property is read: a list, a number or a date held there is not a version."""
    names = {name.lower(): name for name in archive.namelist()}
    if CUSTOM_PROPERTIES_PART not in names:
        return []
    data = read_part(archive, names[CUSTOM_PROPERTIES_PART], MAX_PROPERTIES_BYTES)
    try:
        root = parse_xml(data)
    except (PackageError, etree.XMLSyntaxError):
        return []  # a damaged properties part says nothing; the form itself may be fine
    wanted = DOCX_PROPERTY.casefold()
    named = [
        prop
        for prop in root.iter(f"{{{CUSTOM_PROPERTIES}}}property")
        if (prop.get("name") or "").strip().casefold() == wanted
    ]
    return [_property(prop) for prop in named]


def _property(prop: etree._Element) -> Carried:
    seen = "".join(map(str, prop.itertext())).strip()
    values = [child for child in prop if isinstance(child.tag, str)]
    if len(values) == 1 and values[0].tag in _TEXT_TYPES:
        # emptied (Word's property dialog keeps the name): it declares nothing
        return Carried("document property", seen[:KEEP], seen=seen)
    return Carried("document property", unresolved=True, seen=seen)
