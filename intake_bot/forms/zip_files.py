"""Zip files: new Office packages (read as Word or Excel forms), OpenDocument, plain archives.

A zip file that declares too many parts, or more bytes than a file may unpack to, is refused
before anything is inflated; since declarations can lie, every part is then read through
`BoundedZip` (inflate.py), which counts the bytes as they come out and stops at the limits.
"""

from __future__ import annotations

import zipfile

from intake_bot.domain.form_versions import FormVersions
from intake_bot.domain.rawform import RawForm
from intake_bot.forms.docx import read_docx_archive
from intake_bot.forms.inflate import BoundedZip, read_capped
from intake_bot.forms.limits import Budget, ReadLimits, megabytes
from intake_bot.forms.ooxml import (
    CONTENT_TYPES_PART,
    DEFAULT_PART,
    WORD_MAIN_TYPES,
    content_types,
)
from intake_bot.forms.readings import FileReading
from intake_bot.forms.rejections import Refusal, corrupt, found, reject, unmapped
from intake_bot.forms.sniff import App
from intake_bot.forms.versions import UnmappedVersionError

MAX_ZIP_ENTRIES = 5000
_MIMETYPE_BYTES = 200


def read_zip(filename: str, data: bytes, claimed: App | None, budget: Budget) -> FileReading:
    """The forms in a zip file, or why it is refused; `claimed` as the name or type says.
    A Word or Excel form is read by the names of the form version it declares, among those
    the budget's limits know (`ReadLimits.form_versions`)."""
    versions = budget.limits.form_versions
    with BoundedZip(data, budget) as archive:
        infos = archive.infolist()
        problem = _archive_problem(filename, infos, budget.limits)
        if problem is not None:
            return problem
        names = {info.filename for info in infos}
        if CONTENT_TYPES_PART not in names:
            return _read_other_zip(filename, archive, names, claimed)
        types = content_types(archive)
        if any("sheet.binary" in t for t in types.values()):
            return reject(filename, Refusal.XLSB)
        if _has_macros(types, names):
            return reject(filename, Refusal.MACRO, _app_of_types(types) or claimed or "Word")
        try:
            return _read_package(filename, archive, types, claimed, versions)
        except UnmappedVersionError as exc:
            return unmapped(filename, exc, versions)


def _archive_problem(
    filename: str, infos: list[zipfile.ZipInfo], limits: ReadLimits
) -> FileReading | None:
    """Refuse what says it is a zip bomb before unpacking anything, and zip-level passwords."""
    if len(infos) > MAX_ZIP_ENTRIES:
        detail = f"has more than {MAX_ZIP_ENTRIES:,} parts"
        return reject(filename, Refusal.UNPACKED_TOO_LARGE, detail=detail)
    if sum(info.file_size for info in infos) > limits.inflated_bytes:
        detail = f"says it unpacks to more than {megabytes(limits.inflated_bytes)}"
        return reject(filename, Refusal.UNPACKED_TOO_LARGE, detail=detail)
    if any(info.flag_bits & 0x1 for info in infos):
        return reject(filename, Refusal.ENCRYPTED)
    return None


def _has_macros(types: dict[str, str], names: set[str]) -> bool:
    return any("macroenabled" in t or "vbaproject" in t for t in types.values()) or any(
        name.lower().endswith("vbaproject.bin") for name in names
    )


def _app_of_types(types: dict[str, str]) -> App | None:
    values = " ".join(types.values())
    if "wordprocessingml" in values or "ms-word" in values:
        return "Word"
    if "spreadsheetml" in values or "ms-excel" in values:
        return "Excel"
    return None


def _read_package(
    filename: str,
    archive: BoundedZip,
    types: dict[str, str],
    claimed: App | None,
    versions: FormVersions,
) -> FileReading:
    """An Office Open XML package without macros: a Word or an Excel form, or something else."""
    budget = archive.budget
    if not WORD_MAIN_TYPES.isdisjoint(types.values()):
        forms = read_docx_archive(archive, filename, budget=budget, versions=versions)
        return found(filename, forms)
    if any("spreadsheetml" in t for t in types.values()):
        return found(filename, _read_xlsx(archive, filename, budget, versions))
    if any("presentationml" in t for t in types.values()):
        return reject(filename, Refusal.POWERPOINT)
    names = set(archive.namelist())
    if DEFAULT_PART in names:
        forms = read_docx_archive(archive, filename, DEFAULT_PART, budget, versions)
        return found(filename, forms)
    if "xl/workbook.xml" in names:
        return found(filename, _read_xlsx(archive, filename, budget, versions))
    if claimed is not None:
        return corrupt(filename, claimed)
    return reject(filename, Refusal.OTHER)


def _read_other_zip(
    filename: str, archive: zipfile.ZipFile, names: set[str], claimed: App | None
) -> FileReading:
    mimetype = read_capped(archive, "mimetype", _MIMETYPE_BYTES) if "mimetype" in names else None
    if mimetype is not None and b"opendocument" in mimetype:
        return reject(filename, Refusal.OPENDOCUMENT)
    if claimed is not None:
        return corrupt(filename, claimed)
    return reject(filename, Refusal.ZIP)


def _read_xlsx(
    archive: zipfile.ZipFile, filename: str, budget: Budget, versions: FormVersions
) -> list[RawForm]:
    # Imported here: openpyxl takes ~0.1 s to import, which only a workbook should cost.
    from intake_bot.forms.xlsx import read_xlsx_archive

    return read_xlsx_archive(archive, filename, budget, versions)
